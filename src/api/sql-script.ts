// Runs a .sql pipeline file: sources and views first, then one streaming query per INSERT INTO (for `rill run file.sql`).
import { z } from "zod";
import { AnalysisError, closestName, ConfigError } from "../core/errors.ts";
import type { OutputMode } from "../connectors/sinks/sink.ts";
import type { Field } from "../core/types.ts";
import { parseDdlSchema } from "../expr/ddl.ts";
import { pointAt } from "../sql/position.ts";
import { parseSqlScript, type CreateSinkTable, type CreateSourceView } from "../sql/script.ts";
import type { DataFrame } from "./dataframe.ts";
import type { StreamingQuery } from "./query.ts";
import type { Session } from "./session.ts";
import type { Trigger } from "./trigger.ts";

/** Sink options that configure the writer rather than the sink. */
const WRITER_OPTIONS = new Set(["outputmode", "queryname", "trigger.continuous", "trigger.processingtime", "trigger.once", "trigger.availablenow"]);

/**
 * Plans every statement of a .sql file, then starts one query per INSERT INTO, in the file's order. A wrong statement
 * fails before any query starts; a query that fails to start stops the ones started before it.
 * @example
 * await runSqlScript(session, `
 *   CREATE TEMPORARY VIEW events (user STRING, x DOUBLE) USING json OPTIONS (path 'in/');
 *   CREATE TABLE totals USING memory OPTIONS (outputMode 'complete');
 *   INSERT INTO totals SELECT user, sum(x) AS total FROM events GROUP BY user`);
 */
export async function runSqlScript(session: Session, text: string): Promise<StreamingQuery[]> {
  const sinks = new Map<string, CreateSinkTable>();
  const inserts: Array<{ frame: DataFrame; sink: CreateSinkTable }> = [];
  for (const statement of parseSqlScript(text)) {
    switch (statement.kind) {
      case "source":
        session.registerTempView(statement.name, sourceFrame(session, statement, text), statement.replace);
        break;
      case "view":
        session.registerTempView(statement.name, session.sqlQuery(text, statement.query), statement.replace);
        break;
      case "sink":
        sinks.set(statement.name.toLowerCase(), statement);
        break;
      case "insert": {
        const sink = sinks.get(statement.table.toLowerCase());
        if (!sink) {
          const names = [...sinks.values()].map((candidate) => candidate.name);
          const suggestion = closestName(statement.table, names);
          throw new AnalysisError(`INSERT INTO an unknown table '${statement.table}' ${pointAt(text, statement.position)}\n${suggestion ? `Did you mean '${suggestion}'? ` : ""}Declare the sink first: CREATE TABLE ${statement.table} USING <format> OPTIONS (...). Tables: ${names.join(", ") || "none"}.`);
        }
        inserts.push({ frame: session.sqlQuery(text, statement.query), sink });
        break;
      }
    }
  }
  if (inserts.length === 0) throw new AnalysisError("The SQL file starts no query: add INSERT INTO <table> SELECT ... for each query to run.");
  const started: StreamingQuery[] = [];
  try {
    for (const { frame, sink } of inserts) started.push(await startInto(frame, sink));
  } catch (error) {
    for (const query of started) await query.stop();
    throw error;
  }
  return started;
}

function sourceFrame(session: Session, statement: CreateSourceView, text: string): DataFrame {
  const reader = session.readStream.format(statement.format);
  let path: string | undefined;
  for (const [key, value] of statement.options) {
    if (key.toLowerCase() === "path") path = value;
    else reader.option(key, value);
  }
  if (statement.columns !== undefined) reader.schema(zodOfColumns(statement.columns, statement.name, text, statement.position));
  return reader.load(path);
}

async function startInto(frame: DataFrame, sink: CreateSinkTable): Promise<StreamingQuery> {
  const options = new Map([...sink.options].map(([key, value]) => [key.toLowerCase(), value]));
  // outputMode() checks the text and names the accepted modes.
  const writer = frame.writeStream.format(sink.format).queryName(options.get("queryname") ?? sink.name).outputMode((options.get("outputmode") ?? "append") as OutputMode);
  const trigger = triggerOf(options);
  if (trigger) writer.trigger(trigger);
  for (const [key, value] of sink.options) if (!WRITER_OPTIONS.has(key.toLowerCase())) writer.option(key, value);
  return await writer.start();
}

function triggerOf(options: ReadonlyMap<string, string>): Trigger | undefined {
  const continuous = options.get("trigger.continuous");
  const processingTime = options.get("trigger.processingtime");
  if (continuous !== undefined) return { continuous };
  if (processingTime !== undefined) return { processingTime };
  if (options.get("trigger.once") === "true") return { once: true };
  if (options.get("trigger.availablenow") === "true") return { availableNow: true };
  return undefined;
}

/** A source's column list (`user STRING, x DOUBLE`) as the zod schema readStream.schema() takes; every column nullable. */
function zodOfColumns(ddl: string, view: string, text: string, position: number): z.ZodObject<z.ZodRawShape> {
  const shape: Record<string, z.ZodType> = {};
  for (const field of parseDdlSchema(ddl)) shape[field.name] = zodOfField(field, view, text, position).nullable().optional();
  return z.object(shape);
}

function zodOfField(field: Field, view: string, text: string, position: number): z.ZodType {
  switch (field.type) {
    case "string": return z.string();
    case "int":
    case "long": return z.number().int();
    case "double": return z.number();
    case "boolean": return z.boolean();
    default:
      throw new ConfigError(`Column '${field.name}' of view '${view}' has type ${field.type}, which a source's column list cannot declare yet ${pointAt(text, position)}\nDeclare it as STRING, INT, BIGINT, DOUBLE or BOOLEAN and convert it in a view (cast(... AS timestamp)).`);
  }
}
