// Turns a zod object schema (what users write) into Rill's schema of typed fields, and validates rows with it.
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import type { DataType, Field, Row, Schema } from "./types.ts";
import { longOfBigInt } from "./long.ts";

export type ZodRowSchema = z.ZodObject<z.ZodRawShape>;

interface ZodDefinition {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
}

function definitionOf(schema: z.ZodType): ZodDefinition {
  return (schema as unknown as { _zod: { def: ZodDefinition } })._zod.def;
}

/** The Spark type of one zod field; `nullable` when the field is optional or nullable. */
function fieldOf(name: string, schema: z.ZodType): Field {
  let current = schema;
  let nullable = false;
  for (;;) {
    const definition = definitionOf(current);
    if ((definition.type === "optional" || definition.type === "nullable" || definition.type === "default") && definition.innerType) {
      nullable = true;
      current = definition.innerType;
      continue;
    }
    return { name, type: dataTypeOf(name, definition.type, current), nullable };
  }
}

function dataTypeOf(name: string, zodType: string, schema: z.ZodType): DataType {
  switch (zodType) {
    case "string":
    case "enum":
      return "string";
    case "number":
      return (schema as z.ZodNumber).isInt ? "long" : "double";
    case "bigint":
      return "long";
    case "union": {
      // z.union([z.bigint(), z.number().int()]): a long given either way (exact past 2^53 as a bigint).
      const types = new Set((definitionOf(schema).options ?? []).map((option) => dataTypeOf(name, definitionOf(option).type, option)));
      if (types.size === 1 && types.has("long")) return "long";
      throw new ConfigError(`Field '${name}' of the schema is a union of ${[...types].join(", ")}; Rill maps a union only when every member is a long (z.union([z.bigint(), z.number().int()])).`);
    }
    case "boolean":
      return "boolean";
    case "date":
      return "timestamp";
    case "any":
    case "unknown":
      return "any";
    default:
      throw new ConfigError(`Field '${name}' of the schema has zod type '${zodType}', which Rill cannot map to a column type. Use string, number (int for long), boolean, date or bigint.`);
  }
}

export function isZodObject(value: unknown): value is ZodRowSchema {
  return value instanceof z.ZodObject;
}

export function schemaFromZod(schema: ZodRowSchema): Schema {
  return { fields: Object.entries(schema.shape).map(([name, field]) => fieldOf(name, field as z.ZodType)) };
}

/** Validates one decoded record; returns the row (dates as epoch milliseconds) or the reason it failed. */
export function rowValidator(schema: ZodRowSchema): (value: unknown) => { row: Row } | { error: string } {
  const fields = schemaFromZod(schema).fields;
  const timestampFields = fields.filter((field) => field.type === "timestamp").map((field) => field.name);
  const longFields = fields.filter((field) => field.type === "long").map((field) => field.name);
  return (value) => {
    const result = schema.safeParse(value);
    if (!result.success) return { error: result.error.issues.map((issue) => `${issue.path.join(".") || "record"}: ${issue.message}`).join("; ") };
    const row = result.data as Row;
    for (const name of timestampFields) {
      const timestamp = row[name];
      if (timestamp instanceof Date) row[name] = timestamp.getTime();
    }
    // A long is a number while it is a safe integer and a bigint beyond: one form per value (src/core/long.ts).
    for (const name of longFields) {
      const value = row[name];
      if (typeof value === "bigint") row[name] = longOfBigInt(value);
    }
    return { row };
  };
}
