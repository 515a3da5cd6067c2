// What session.read and session.readStream share: Spark's format / option / options / schema builder methods.
import { ConfigError } from "../core/errors.ts";
import type { Schema } from "../core/types.ts";
import { isZodObject, schemaFromZod, type ZodRowSchema } from "../core/zod-schema.ts";
import { parseDdlSchema } from "../expr/ddl.ts";

/** What schema() takes: a zod object, a schema (another DataFrame's `.schema`), or a DDL string ("gt STRING, x DOUBLE"). */
export type SchemaLike = ZodRowSchema | Schema | string;

/** A Rill schema from what schema() was given. */
export function schemaOfLike(schema: SchemaLike, where: string): Schema {
  if (typeof schema === "string") return { fields: parseDdlSchema(schema) };
  if (isZodObject(schema)) return schemaFromZod(schema);
  if (typeof schema === "object" && schema !== null && Array.isArray((schema as Schema).fields)) return schema as Schema;
  throw new ConfigError(`${where}.schema() takes a zod object schema, a DataFrame's schema (df.schema) or a DDL string such as "gt STRING, x DOUBLE".`);
}

/**
 * The builder half of Spark's DataFrameReader and DataStreamReader: the format, the options (values kept as text, as
 * Spark keeps them) and the schema. Each reader says what a schema means to it in `useSchema`.
 */
export abstract class ReaderBuilder {
  protected sourceFormat = "";
  protected readonly sourceOptions = new Map<string, string>();

  format(source: string): this {
    this.sourceFormat = source;
    return this;
  }

  schema(schema: SchemaLike): this {
    this.useSchema(schema);
    return this;
  }

  option(key: string, value: string | number | boolean): this {
    this.sourceOptions.set(key, String(value));
    return this;
  }

  options(options: Record<string, string | number | boolean>): this {
    for (const [key, value] of Object.entries(options)) this.option(key, value);
    return this;
  }

  /** Keeps the schema given to schema(), checked; throws ConfigError for something that is not a schema. */
  protected abstract useSchema(schema: SchemaLike): void;
}
