// writeStream: sink, output mode, trigger and start(), as in Spark's DataStreamWriter.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { deadLetterSubject, querySubjects } from "../actors/subjects.ts";
import { ForeachBatchSinkProvider } from "../connectors/sinks/foreach-batch.ts";
import { ForeachSinkProvider } from "../connectors/sinks/foreach.ts";
import { MemorySinkProvider } from "../connectors/sinks/memory.ts";
import { createSinkProvider } from "../connectors/sinks/registry.ts";
import type { OutputMode, SinkProvider } from "../connectors/sinks/sink.ts";
import { AnalysisError, CheckpointError, ConfigError } from "../core/errors.ts";
import type { Row } from "../core/types.ts";
import { analyze } from "../plan/analyzer.ts";
import { buildExecutionGraph, checkOutputMode, sourceActorNames, statefulOperators } from "../plan/physical.ts";
import { openCheckpoint, type OpenedCheckpoint } from "./checkpoint.ts";
import type { DataFrame } from "./dataframe.ts";
import { StreamingQuery } from "./query.ts";
import { DEFAULT_TRIGGER, resolveTrigger, type Trigger } from "./trigger.ts";

const OUTPUT_MODES: readonly OutputMode[] = ["append", "update", "complete"];

export class DataStreamWriter {
  private name: string | undefined;
  private sinkFormat = "";
  private mode: OutputMode = "append";
  private triggerSpec: Trigger = DEFAULT_TRIGGER;
  private readonly sinkOptions = new Map<string, string>();
  private foreachFn: ((row: Row) => void | Promise<void>) | undefined;
  private foreachBatchFn: ((rows: Row[], epochId: number) => void | Promise<void>) | undefined;

  constructor(private readonly frame: DataFrame) {}

  queryName(name: string): this {
    this.name = name;
    return this;
  }

  format(format: string): this {
    this.sinkFormat = format;
    return this;
  }

  outputMode(mode: OutputMode): this {
    const lower = String(mode).toLowerCase() as OutputMode;
    if (!OUTPUT_MODES.includes(lower)) throw new ConfigError(`Unknown output mode '${mode}'. Accepted output modes are 'append', 'update' and 'complete'.`);
    this.mode = lower;
    return this;
  }

  trigger(trigger: Trigger): this {
    resolveTrigger(trigger);
    this.triggerSpec = trigger;
    return this;
  }

  option(key: string, value: string | number | boolean): this {
    this.sinkOptions.set(key, String(value));
    return this;
  }

  options(options: Record<string, string | number | boolean>): this {
    for (const [key, value] of Object.entries(options)) this.option(key, value);
    return this;
  }

  /** A callback per row, as rows arrive (awaited: a slow callback slows the query). */
  foreach(fn: (row: Row) => void | Promise<void>): this {
    this.foreachFn = fn;
    this.sinkFormat = "foreach";
    return this;
  }

  /** A callback per epoch with its rows and id (use the id to make the callback idempotent). */
  foreachBatch(fn: (rows: Row[], epochId: number) => void | Promise<void>): this {
    this.foreachBatchFn = fn;
    this.sinkFormat = "foreachBatch";
    return this;
  }

  /** Analyses the query (a wrong query rejects here, naming the column, option or mode), then starts its actors. */
  async start(path?: string): Promise<StreamingQuery> {
    const session = this.frame.session;
    const config = session.conf.read();
    const trigger = resolveTrigger(this.triggerSpec);
    if (this.name !== undefined && session.streams.active.some((query) => query.name === this.name)) {
      throw new ConfigError(`Cannot start query with name '${this.name}' as a query with that name is already active in this session.`);
    }
    const transport = await session.connect();
    const plan = analyze(this.frame.plan, { outputMode: this.mode, maxFutureMs: config.maxFutureMs, multipleWatermarkPolicy: config.multipleWatermarkPolicy });
    checkOutputMode(plan, this.mode);
    const sink = this.createSink(path);
    const location = this.sinkOptions.get("checkpointLocation") ?? (config.checkpointRoot && this.name ? join(config.checkpointRoot, this.name) : undefined);
    const sources = sourceActorNames(plan);
    const checkpoint = location ? await openCheckpoint(location, { name: this.name, sources, stateful: statefulOperators(plan, this.mode), outputMode: this.mode }) : undefined;
    if (checkpoint) await refuseUnrecoverableSink(sink, this.mode, checkpoint);
    const id = checkpoint?.id ?? randomUUID();
    const runId = randomUUID();
    const subjectName = this.name ?? id;
    const graph = buildExecutionGraph(plan, {
      queryName: subjectName,
      queryId: id,
      sink,
      outputMode: this.mode,
      microBatch: trigger.microBatch,
      shufflePartitions: config.shufflePartitions,
      chaining: config.chaining,
      multipleWatermarkPolicy: config.multipleWatermarkPolicy,
      deadLetterSubject: this.sinkOptions.get("deadLetterSubject") ?? config.deadLetterSubject ?? deadLetterSubject(config.subjectPrefix, subjectName),
    });
    const subjects = querySubjects(config.subjectPrefix, subjectName, runId);
    const subjectsOf = (attempt: number) => querySubjects(config.subjectPrefix, subjectName, runId, attempt);
    const query = new StreamingQuery({ id, runId, name: this.name, plan, graph, trigger, transport, subjects, subjectsOf, flow: { window: config.flowWindow, maxFrameRows: config.maxFrameRows }, log: session.log, checkpoint, maxRetries: config.maxRetries, epochTimeoutMs: config.epochTimeoutMs, idleTimeoutMs: config.idleTimeoutMs, lateDataSubject: this.sinkOptions.get("lateDataSubject") ?? config.lateDataSubject, clock: session.clock, events: session.streams.bus });
    session.streams.register(query);
    await query.begin();
    return query;
  }

  private createSink(path: string | undefined): SinkProvider {
    const session = this.frame.session;
    switch (this.sinkFormat) {
      case "memory":
        if (this.name === undefined) throw new AnalysisError("queryName must be specified for memory sink: writeStream.queryName(\"name\").format(\"memory\"); the rows are then in session.table(\"name\").");
        return new MemorySinkProvider(session.memoryTable(this.name), this.name);
      case "foreach":
        if (!this.foreachFn) throw new ConfigError("format(\"foreach\") needs a callback: use writeStream.foreach(row => ...).");
        return new ForeachSinkProvider(this.foreachFn);
      case "foreachBatch":
        if (!this.foreachBatchFn) throw new ConfigError("format(\"foreachBatch\") needs a callback: use writeStream.foreachBatch((rows, epochId) => ...).");
        return new ForeachBatchSinkProvider(this.foreachBatchFn);
      case "":
        throw new ConfigError("writeStream needs a sink: .format(\"console\" | \"memory\" | \"nats\"), .foreach(fn) or .foreachBatch(fn).");
      default: {
        const options = new Map(this.sinkOptions);
        options.delete("deadLetterSubject");
        options.delete("checkpointLocation");
        options.delete("lateDataSubject");
        return createSinkProvider({ format: this.sinkFormat, options, transport: session.transport, queryName: this.name ?? "query", path });
      }
    }
  }
}

/** Spark's rule: a sink that cannot resume in this output mode (the memory sink outside complete mode) refuses a checkpoint with committed epochs. */
async function refuseUnrecoverableSink(sink: SinkProvider, mode: OutputMode, checkpoint: OpenedCheckpoint): Promise<void> {
  const modes = sink.recoverableModes;
  if (!modes || modes.includes(mode) || checkpoint.resume === undefined || checkpoint.resume.lastCommittedEpoch < 0) return;
  await checkpoint.storage.close();
  const modeList = modes.map((recoverable) => `outputMode("${recoverable}")`).join(" or ");
  throw new CheckpointError(`The ${sink.format} sink (${sink.description}) does not support recovering from the checkpoint at '${checkpoint.location}' in ${mode} mode, as in Spark: the rows it wrote before are not kept with the checkpoint, so the restarted query would miss them. Use ${modeList}, or start with a new checkpoint location (or delete this one to start over).`);
}
