// session.read.format("redis"): a lookup table read whole from Redis, one row per key matching a pattern. A key
// holds a hash (its fields are the columns) or a JSON text (its top-level fields are); the key itself is a column.
// The only module that imports redis.
import { ConnectorOptions } from "../connectors/options.ts";
import { ConfigError } from "../core/errors.ts";
import type { Row, Schema } from "../core/types.ts";
import { JsonSchemaInference } from "./infer-json.ts";
import { LOOKUP_OPTIONS, LookupSourceProvider, retryPolicyOf, withRetries, type LookupTarget } from "./lookup-source.ts";
import { BadValue, valueOfJson, valueOfText } from "./lookup-values.ts";

const REDIS_OPTIONS = [...LOOKUP_OPTIONS, "keyPattern", "keyPrefix", "keyColumn", "valueType"];
const SCAN_COUNT = 1000;

type RedisClient = Awaited<ReturnType<typeof newClient>>;

export interface RedisSpec {
  readonly options: ConnectorOptions;
  readonly target: LookupTarget;
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The SCAN MATCH pattern. */
  readonly match: string;
  /** With keyPrefix: stripped from each key for the key column. */
  readonly prefix: string;
  readonly keyColumn: string;
  readonly valueType: "hash" | "json";
  readonly describe: string;
}

export function redisSpec(rawOptions: ReadonlyMap<string, string>): RedisSpec {
  const owner = "session.read.format(\"redis\")";
  const options = new ConnectorOptions(owner, rawOptions, REDIS_OPTIONS);
  const url = options.string("url") ?? "redis://127.0.0.1:6379";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigError(`Option 'url' of ${owner} is not a URL. Use redis://host:6379 (or redis://host:6379/2 for database 2).`, { cause: error });
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new ConfigError(`Option 'url' of ${owner} must start with redis:// or rediss://.`);
  const pattern = options.string("keyPattern");
  const prefix = options.string("keyPrefix");
  if ((pattern === undefined) === (prefix === undefined)) throw new ConfigError(`${owner} needs exactly one of option("keyPrefix", "device:") (the key column holds the rest of each key) and option("keyPattern", "device:*") (the key column holds the whole key).`);
  const valueType = options.string("valueType") ?? "hash";
  if (valueType !== "hash" && valueType !== "json") throw options.invalid("valueType", valueType, "'hash' (a key's hash fields are the columns) or 'json' (a key's value is a JSON object whose fields are the columns)");
  const username = options.string("user") ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
  const password = options.string("password") ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  const database = parsed.pathname.replace(/^\//, "") || "0";
  const name = `Redis redis://${username === undefined ? "" : `${username}@`}${parsed.hostname}:${parsed.port || "6379"}/${database}`;
  const match = pattern ?? `${escapeGlob(prefix as string)}*`;
  return {
    options, url: stripCredentials(parsed), username, password, match, prefix: prefix ?? "",
    keyColumn: options.string("keyColumn") ?? "key", valueType,
    target: { name, secrets: [url, ...(password === undefined ? [] : [password, encodeURIComponent(password)])], policy: retryPolicyOf(options) },
    describe: `${name} keys ${match} (${valueType})`,
  };
}

/** The schema without .schema(): the key column, then the hash fields of every key (strings, in name order) or the JSON values' inferred schema. */
export async function redisSchema(spec: RedisSpec): Promise<Schema> {
  const values = await withRetries(spec.target, "read the schema", () => withClient(spec, (client) => readValues(spec, client)));
  const key = { name: spec.keyColumn, type: "string" as const, nullable: false };
  if (spec.valueType === "json") {
    const inference = new JsonSchemaInference();
    for (const { value } of values) if (typeof value === "string") inference.addLine(value);
    return { fields: [key, ...(values.length === 0 ? [] : inference.schema(spec.describe).fields.filter((field) => field.name !== spec.keyColumn))] };
  }
  const names = new Set<string>();
  for (const { value } of values) if (typeof value === "object" && value !== null) for (const name of Object.keys(value)) if (name !== spec.keyColumn) names.add(name);
  return { fields: [key, ...[...names].sort().map((name) => ({ name, type: "string" as const, nullable: true }))] };
}

export function redisSource(spec: RedisSpec, schema: Schema): LookupSourceProvider {
  return new LookupSourceProvider("redis", schema, `Redis[${spec.describe.replace(/^Redis /, "")}]`, spec.target, (deadLetter) => withClient(spec, async (client) => {
    const rows: Row[] = [];
    for (const { key, value, error } of await readValues(spec, client)) {
      if (error !== undefined) {
        deadLetter({ key }, `${spec.target.name} key '${key}': ${error}`);
        continue;
      }
      const row = rowOf(spec, schema, key, value);
      if (typeof row === "string") deadLetter({ key, value }, `${spec.target.name} key '${key}': ${row}`);
      else rows.push(row);
    }
    return rows;
  }));
}

interface KeyValue {
  readonly key: string;
  readonly value: Record<string, string> | string | null;
  /** The key holds another type than valueType says (WRONGTYPE): that key goes to the dead letter. */
  readonly error?: string;
}

/** Every key matching the pattern with its hash or text, in key order. A key of the wrong type is marked; any other failure fails the read. */
async function readValues(spec: RedisSpec, client: RedisClient): Promise<KeyValue[]> {
  const keys = new Set<string>();
  for await (const batch of client.scanIterator({ MATCH: spec.match, COUNT: SCAN_COUNT })) for (const key of batch) keys.add(String(key));
  const sorted = [...keys].sort();
  const wrongType = (key: string) => (error: unknown): KeyValue => {
    if (error instanceof Error && error.message.startsWith("WRONGTYPE")) return { key, value: null, error: `holds another type than valueType '${spec.valueType}' reads` };
    throw error;
  };
  if (spec.valueType === "hash") {
    return await Promise.all(sorted.map((key) => client.hGetAll(key).then((value): KeyValue => ({ key, value: { ...value } }), wrongType(key))));
  }
  return await Promise.all(sorted.map((key) => client.get(key).then((value): KeyValue => ({ key, value: value === null ? null : String(value) }), wrongType(key))));
}

/** A key's row: the key column and each column of the schema from the hash field or JSON field of that name; a reason when a value does not fit. */
function rowOf(spec: RedisSpec, schema: Schema, key: string, value: KeyValue["value"]): Row | string {
  let record: Record<string, unknown>;
  if (spec.valueType === "json") {
    if (typeof value !== "string") return "the key vanished while it was read";
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return "the value is not a JSON object";
      record = parsed as Record<string, unknown>;
    } catch (error) {
      return `the value is not JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
  } else {
    if (typeof value !== "object" || value === null) return "the key vanished while it was read";
    record = value;
  }
  const row: Row = {};
  for (const field of schema.fields) {
    if (field.name === spec.keyColumn) {
      row[field.name] = key.startsWith(spec.prefix) ? key.slice(spec.prefix.length) : key;
      continue;
    }
    const raw = record[field.name];
    const converted = spec.valueType === "json" ? valueOfJson(raw, field.type) : valueOfText(raw === undefined ? null : String(raw), field.type);
    if (converted instanceof BadValue) return `field '${field.name}': ${converted.reason}`;
    row[field.name] = converted;
  }
  return row;
}

/** A client for one read: connected without reconnecting (a failed read is retried whole), used, closed. */
async function withClient<T>(spec: RedisSpec, use: (client: RedisClient) => Promise<T>): Promise<T> {
  const client = await newClient(spec);
  let lastError: unknown;
  // The client reports a lost socket as an 'error' event; the command in progress rejects with it and the read is retried.
  client.on("error", (error: unknown) => (lastError = error));
  try {
    await client.connect();
  } catch (error) {
    throw error instanceof Error ? error : new Error(String(lastError ?? error));
  }
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/** Loads the client at the first read, so a process that reads no Redis table never pays its memory. */
async function newClient(spec: RedisSpec) {
  const { createClient: create } = await import("redis");
  return create({
    url: spec.url,
    ...(spec.username === undefined ? {} : { username: spec.username }),
    ...(spec.password === undefined ? {} : { password: spec.password }),
    socket: { connectTimeout: spec.target.policy.connectTimeoutMs, reconnectStrategy: false },
  });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (character) => `\\${character}`);
}

function stripCredentials(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
