// from_json / to_json: JSON text to a typed struct (schema as a DDL string) and back, with Spark's PERMISSIVE rules.
import { AnalysisError } from "../core/errors.ts";
import type { Field } from "../core/types.ts";
import { castConverter } from "./cast.ts";
import { asString } from "./coerce.ts";
import { argumentAt, constantValue, isMissing, type Compiled, type ScalarFunction } from "./compiled.ts";
import { formatDate } from "./datetime.ts";
import { parseDdlSchema } from "./ddl.ts";
import { parseTimestamp } from "./values.ts";

type Reader = (value: unknown) => unknown;

/** Converts one parsed JSON value to a field's type; a value that does not fit is null (the record stays). */
function readerFor(field: Field): Reader {
  switch (field.type) {
    case "int":
      return (value) => (typeof value === "number" && Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647 ? value : null);
    case "long":
      return (value) => (typeof value === "number" && Number.isInteger(value) ? value : null);
    case "double":
      return (value) => (typeof value === "number" ? value : null);
    case "boolean":
      return (value) => (typeof value === "boolean" ? value : null);
    // A string field takes any JSON value: non-strings keep their JSON text, as in Spark.
    case "string":
      return (value) => (typeof value === "string" ? value : JSON.stringify(value));
    case "timestamp":
      return (value) => (typeof value === "string" ? parseTimestamp(value) : null);
    case "date": {
      const toDate = castConverter("string", "date");
      return (value) => (typeof value === "string" && toDate !== undefined ? toDate(value) : null);
    }
    case "array": {
      const element = readerFor(field.element ?? { name: "element", type: "any", nullable: true });
      return (value) => (Array.isArray(value) ? value.map((item) => (item === null ? null : element(item))) : null);
    }
    case "struct":
      return structReader(field.fields ?? []);
    default:
      return (value) => value;
  }
}

function structReader(fields: readonly Field[]): Reader {
  const readers = fields.map((field) => [field.name, readerFor(field)] as const);
  return (value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, read] of readers) {
      const item = source[name];
      out[name] = item === null || item === undefined ? null : read(item);
    }
    return out;
  };
}

function schemaArgument(site: { readonly text: string }, arg: Compiled): Field[] {
  if (arg.constant !== true || arg.type !== "string") throw new AnalysisError(`The schema of '${site.text}' must be a DDL string literal, e.g. "a INT, b STRING"`);
  return parseDdlSchema(constantValue(arg) as string);
}

/**
 * from_json(text, schema): a struct; null for null text; a struct of nulls for text that is not a JSON object
 * (Spark 3's PERMISSIVE mode); a field whose value does not fit its type is null.
 */
const fromJson: ScalarFunction = {
  minArgs: 2,
  maxArgs: 3,
  compile: (args, site) => {
    const fields = schemaArgument(site, argumentAt(args, 1));
    const text = asString(argumentAt(args, 0), site.text);
    const read = structReader(fields);
    const empty = Object.fromEntries(fields.map((field) => [field.name, null]));
    return {
      evaluate: (row) => {
        const value = text(row);
        if (isMissing(value)) return null;
        let parsed: unknown;
        try {
          parsed = JSON.parse(value as string);
        } catch {
          // Malformed JSON is data, not a failure: PERMISSIVE mode gives a struct of nulls.
          return { ...empty };
        }
        return read(parsed) ?? { ...empty };
      },
      type: "struct",
      nullable: true,
      fields,
    };
  },
};

type Writer = (value: unknown) => unknown;

/** Prepares a typed value for JSON: timestamps as ISO-8601 text, dates as yyyy-MM-dd, null struct fields left out. */
function writerFor(field: Pick<Field, "type" | "fields" | "element">): Writer {
  switch (field.type) {
    case "timestamp":
      return (value) => new Date(value as number).toISOString();
    case "date":
      return (value) => formatDate(value as number);
    case "window":
      return structWriter([{ name: "start", type: "timestamp", nullable: true }, { name: "end", type: "timestamp", nullable: true }]);
    case "struct":
      return field.fields === undefined ? (value) => value : structWriter(field.fields);
    case "array": {
      const element = writerFor(field.element ?? { type: "any" });
      return (value) => (value as unknown[]).map((item) => (isMissing(item) ? null : element(item)));
    }
    case "binary":
      return (value) => Buffer.from(value as Uint8Array).toString("base64");
    default:
      return (value) => value;
  }
}

function structWriter(fields: readonly Field[]): Writer {
  const writers = fields.map((field) => [field.name, writerFor(field)] as const);
  return (value) => {
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, write] of writers) {
      const item = source[name];
      if (!isMissing(item)) out[name] = write(item);
    }
    return out;
  };
}

/** to_json(struct or array): JSON text; null for null. */
const toJson: ScalarFunction = {
  minArgs: 1,
  maxArgs: 2,
  compile: (args, site) => {
    const arg = argumentAt(args, 0);
    if (arg.type !== "struct" && arg.type !== "array" && arg.type !== "window" && arg.type !== "any") {
      throw new AnalysisError(`'${site.text}' needs a struct or an array, but ${arg.name} is ${arg.type}`);
    }
    const write = writerFor(arg);
    const evaluate = arg.evaluate;
    return {
      evaluate: (row) => {
        const value = evaluate(row);
        return isMissing(value) ? null : JSON.stringify(write(value));
      },
      type: "string",
      nullable: true,
    };
  },
};

export const JSON_FUNCTIONS: ReadonlyArray<readonly [string, ScalarFunction]> = [
  ["from_json", fromJson],
  ["to_json", toJson],
];
