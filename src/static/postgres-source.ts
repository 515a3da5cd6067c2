// session.read.format("postgres") (or "jdbc" with a PostgreSQL url): a lookup table read whole from PostgreSQL with
// Spark's JDBC options (url, dbtable or query, user, password), its schema taken from the database's column types.
// The only module that imports pg.
// Type-only here: the driver itself is loaded at the first read, so a process that reads no PostgreSQL table never pays its memory.
import type pg from "pg";
import { ConnectorOptions } from "../connectors/options.ts";
import { ConfigError } from "../core/errors.ts";
import type { DataType, Field, Row, Schema } from "../core/types.ts";
import { LOOKUP_OPTIONS, LookupSourceProvider, redact, retryPolicyOf, withRetries, type LookupTarget } from "./lookup-source.ts";
import { BadValue, valueOfText } from "./lookup-values.ts";

const POSTGRES_OPTIONS = [...LOOKUP_OPTIONS, "dbtable", "query"];

/** PostgreSQL's type OIDs (pg_type) as Rill types, as Spark's PostgresDialect maps them; any other type is read as its text. */
const TYPES = new Map<number, DataType>([
  [16, "boolean"], [20, "long"], [21, "int"], [23, "int"], [26, "long"], [700, "double"], [701, "double"], [1700, "double"],
  [1082, "date"], [1114, "timestamp"], [1184, "timestamp"], [17, "binary"],
]);

/** What the options say, checked: where to connect (the password apart), what to read. */
export interface PostgresSpec {
  readonly options: ConnectorOptions;
  readonly target: LookupTarget;
  readonly connection: pg.ClientConfig;
  /** The SELECT that reads the table. */
  readonly select: string;
  readonly describe: string;
}

export function postgresSpec(format: string, rawOptions: ReadonlyMap<string, string>): PostgresSpec {
  const owner = `session.read.format("${format}")`;
  const options = new ConnectorOptions(owner, rawOptions, POSTGRES_OPTIONS);
  const rawUrl = options.string("url");
  if (rawUrl === undefined) throw new ConfigError(`${owner} needs option("url", "postgresql://host:5432/database") (or "jdbc:postgresql://host:5432/database").`);
  const text = rawUrl.replace(/^jdbc:/, "");
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new ConfigError(`Option 'url' of ${owner} is not a URL: '${redactUrl(rawUrl)}'. Use postgresql://host:5432/database.`, { cause: error });
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new ConfigError(`Option 'url' of ${owner} must be a PostgreSQL url (postgresql://host:5432/database or jdbc:postgresql://...), not '${redactUrl(rawUrl)}': Rill reads PostgreSQL only.`);
  }
  const table = options.string("dbtable");
  const query = options.string("query");
  if ((table === undefined) === (query === undefined)) throw new ConfigError(`${owner} needs exactly one of option("dbtable", ...) and option("query", ...), as Spark's JDBC source.`);
  const user = options.string("user") ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = options.string("password") ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined;
  const host = url.hostname || "localhost";
  const port = url.port ? Number(url.port) : 5432;
  const name = `PostgreSQL postgresql://${user === undefined ? "" : `${user}@`}${host}:${port}/${database ?? ""}`;
  const policy = retryPolicyOf(options);
  const secrets = [rawUrl, text, ...(password === undefined ? [] : [password, encodeURIComponent(password)])];
  const connection: pg.ClientConfig = {
    host, port, connectionTimeoutMillis: policy.connectTimeoutMs, query_timeout: policy.connectTimeoutMs * 6, application_name: "rill-lookup",
    ...(user === undefined ? {} : { user }), ...(password === undefined ? {} : { password }), ...(database === undefined ? {} : { database }),
    // Every value as PostgreSQL's text: Rill converts it to the column's type (no Date in the local time zone).
    types: { getTypeParser: () => (value: string) => value },
  };
  const select = table !== undefined ? `SELECT * FROM ${table}` : `SELECT * FROM (${query as string}) AS rill_lookup_query`;
  return { options, target: { name, secrets, policy }, connection, select, describe: `${name} ${table !== undefined ? `table ${table}` : "query"}` };
}

/** The schema of what the spec reads, from the columns PostgreSQL reports for it (read with retries). */
export async function postgresSchema(spec: PostgresSpec): Promise<Schema> {
  const fields = await withRetries(spec.target, "read the schema", () => withClient(spec, async (client) => (await client.query(`SELECT * FROM (${spec.select}) AS rill_lookup_schema LIMIT 0`)).fields));
  return { fields: fields.map((field): Field => ({ name: field.name, type: TYPES.get(field.dataTypeID) ?? "string", nullable: true })) };
}

export function postgresSource(spec: PostgresSpec, schema: Schema): LookupSourceProvider {
  return new LookupSourceProvider("postgres", schema, `PostgreSQL[${spec.describe.replace(/^PostgreSQL /, "")}]`, spec.target, (deadLetter) => withClient(spec, async (client) => {
    const result = await client.query<Record<string, string | null>>({ text: spec.select });
    const rows: Row[] = [];
    for (const record of result.rows) {
      const row: Row = {};
      let bad: string | undefined;
      for (const field of schema.fields) {
        const value = valueOfText(record[field.name] ?? null, field.type);
        if (value instanceof BadValue) bad ??= `column '${field.name}': ${value.reason}`;
        row[field.name] = value;
      }
      if (bad === undefined) rows.push(row);
      else deadLetter(record, `${spec.target.name}: ${bad}`);
    }
    return rows;
  }));
}

/** A client for one read: connected, used, ended (a lookup reads seldom; no pool to keep). */
async function withClient<T>(spec: PostgresSpec, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const { default: driver } = await import("pg");
  const client = new driver.Client(spec.connection);
  // A connection lost between queries emits 'error'; the read in progress fails with it and is retried.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redactUrl(url: string): string {
  return redact(url, [/:\/\/[^@/]*:([^@/]*)@/.exec(url)?.[1] ?? ""]);
}
