// readStream: format, schema, options and load(), as in Spark's DataStreamReader.
import { createSourceProvider } from "../connectors/sources/registry.ts";
import { ConfigError } from "../core/errors.ts";
import type { Schema } from "../core/types.ts";
import { isZodObject, rowValidator, schemaFromZod, type ZodRowSchema } from "../core/zod-schema.ts";
import { ReaderBuilder, schemaOfLike, type SchemaLike } from "./reader-base.ts";
import { DataFrame } from "./dataframe.ts";
import type { Session } from "./session.ts";

export class DataStreamReader extends ReaderBuilder {
  private userSchema: ZodRowSchema | undefined;
  /** A schema given as a DataFrame's schema or a DDL string: records are checked against its field types. */
  private plainSchema: Schema | undefined;

  constructor(private readonly session: Session) {
    super();
  }

  /**
   * The schema of the records: a zod object, another DataFrame's schema (`readStream.schema(static.schema)`, as the
   * seed's 22.4) or a DDL string. Records that fail it go to the dead-letter output.
   */
  protected useSchema(schema: SchemaLike): void {
    if (isZodObject(schema)) {
      this.userSchema = schema;
      this.plainSchema = undefined;
    } else {
      this.plainSchema = schemaOfLike(schema, "readStream");
      this.userSchema = undefined;
    }
  }

  load(path?: string): DataFrame {
    if (!this.sourceFormat) throw new ConfigError("readStream needs a format: .format(\"rate\" | \"activity\" | \"json\" | \"csv\" | \"text\" | \"nats\") or one of .json(path), .csv(path), .text(path).");
    const format = this.sourceFormat;
    const options = new Map(this.sourceOptions);
    const zodSchema = this.userSchema;
    const plainSchema = this.plainSchema;
    const session = this.session;
    const describe = `${format}${path ? `[${path}]` : ""}`;
    return new DataFrame(session, {
      kind: "source",
      describe,
      create: () => createSourceProvider({
        format,
        options,
        schema: zodSchema ? schemaFromZod(zodSchema) : plainSchema,
        validate: zodSchema ? rowValidator(zodSchema) : undefined,
        path,
        transport: session.transport,
        queryName: describe,
      }),
    });
  }

  json(path: string): DataFrame {
    return this.format("json").load(path);
  }

  csv(path: string): DataFrame {
    return this.format("csv").load(path);
  }

  text(path: string): DataFrame {
    return this.format("text").load(path);
  }
}
