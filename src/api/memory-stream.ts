// MemoryStream: a source the program feeds with addData(), as Spark's own tests do.
import { MemorySourceProvider, MemoryStreamData } from "../connectors/sources/memory.ts";
import { rowValidator, schemaFromZod, type ZodRowSchema } from "../core/zod-schema.ts";
import type { z } from "zod";
import { DataFrame } from "./dataframe.ts";
import type { Session } from "./session.ts";

let counter = 0;

export class MemoryStream<S extends ZodRowSchema> {
  private readonly data = new MemoryStreamData();
  readonly name: string;

  constructor(private readonly session: Session, private readonly zodSchema: S, name?: string) {
    this.name = name ?? `memory-${++counter}`;
  }

  /** Appends rows; returns the offset after them. Rows that fail the schema go to the dead-letter output. */
  addData(rows: ReadonlyArray<z.input<S>> | z.input<S>): number {
    return this.data.add(Array.isArray(rows) ? rows : [rows]);
  }

  toDF(): DataFrame {
    const schema = schemaFromZod(this.zodSchema);
    const validate = rowValidator(this.zodSchema);
    return new DataFrame(this.session, { kind: "source", describe: this.name, create: () => new MemorySourceProvider(schema, this.data, validate, this.name) });
  }
}
