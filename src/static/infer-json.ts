// Spark's JSON schema inference: a type per value of every record, merged across records (long + double = double,
// anything else that disagrees = string), objects as structs with their fields sorted by name, nulls alone as string.
import { AnalysisError } from "../core/errors.ts";
import type { DataType, Field, Schema } from "../core/types.ts";

type Inferred =
  | { readonly kind: "null" | "long" | "double" | "string" | "boolean" }
  | { readonly kind: "struct"; readonly fields: ReadonlyMap<string, Inferred> }
  | { readonly kind: "array"; readonly element: Inferred };

const NULL: Inferred = { kind: "null" };
const STRING: Inferred = { kind: "string" };

/** Reads the type of one JSON text; throws a SyntaxError-like message on bad JSON (the caller skips such lines, as Spark's PERMISSIVE mode does). */
class TypeReader {
  private index = 0;
  constructor(private readonly text: string) {}

  read(): Inferred {
    const type = this.value();
    this.space();
    if (this.index < this.text.length) this.fail("unexpected text after the value");
    return type;
  }

  private value(): Inferred {
    this.space();
    const char = this.text[this.index];
    if (char === "{") return this.object();
    if (char === "[") return this.array();
    if (char === "\"") {
      this.string();
      return STRING;
    }
    if (this.text.startsWith("true", this.index) || this.text.startsWith("false", this.index)) {
      this.index += char === "t" ? 4 : 5;
      return { kind: "boolean" };
    }
    if (this.text.startsWith("null", this.index)) {
      this.index += 4;
      return NULL;
    }
    const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.index, this.index + 400));
    if (!match) this.fail("a value expected");
    this.index += match[0].length;
    return match[1] === undefined && match[2] === undefined ? { kind: "long" } : { kind: "double" };
  }

  private object(): Inferred {
    this.index++;
    const fields = new Map<string, Inferred>();
    this.space();
    if (this.text[this.index] === "}") {
      this.index++;
      return { kind: "struct", fields };
    }
    for (;;) {
      this.space();
      if (this.text[this.index] !== "\"") this.fail("a field name expected");
      const name = this.string();
      this.space();
      if (this.text[this.index] !== ":") this.fail("':' expected");
      this.index++;
      const type = this.value();
      fields.set(name, merge(fields.get(name) ?? NULL, type));
      this.space();
      const next = this.text[this.index++];
      if (next === "}") return { kind: "struct", fields };
      if (next !== ",") this.fail("',' or '}' expected");
    }
  }

  private array(): Inferred {
    this.index++;
    let element: Inferred = NULL;
    this.space();
    if (this.text[this.index] === "]") {
      this.index++;
      return { kind: "array", element };
    }
    for (;;) {
      element = merge(element, this.value());
      this.space();
      const next = this.text[this.index++];
      if (next === "]") return { kind: "array", element };
      if (next !== ",") this.fail("',' or ']' expected");
    }
  }

  private string(): string {
    const start = this.index;
    this.index++;
    while (this.index < this.text.length) {
      const char = this.text[this.index];
      if (char === "\\") this.index += 2;
      else if (char === "\"") {
        this.index++;
        return JSON.parse(this.text.slice(start, this.index)) as string;
      } else this.index++;
    }
    return this.fail("unterminated string");
  }

  private space(): void {
    while (this.index < this.text.length && " \t\r\n".includes(this.text[this.index] as string)) this.index++;
  }

  private fail(reason: string): never {
    throw new SyntaxError(`${reason} at position ${this.index}`);
  }
}

/** Spark's JsonInferSchema.compatibleType, on Rill's types. */
function merge(a: Inferred, b: Inferred): Inferred {
  if (a.kind === "null") return b;
  if (b.kind === "null") return a;
  if (a.kind === b.kind) {
    if (a.kind === "struct" && b.kind === "struct") {
      const fields = new Map(a.fields);
      for (const [name, type] of b.fields) fields.set(name, merge(fields.get(name) ?? NULL, type));
      return { kind: "struct", fields };
    }
    if (a.kind === "array" && b.kind === "array") return { kind: "array", element: merge(a.element, b.element) };
    return a;
  }
  if ((a.kind === "long" && b.kind === "double") || (a.kind === "double" && b.kind === "long")) return { kind: "double" };
  return STRING;
}

function toField(name: string, type: Inferred): Field {
  switch (type.kind) {
    case "struct": return { name, type: "struct", nullable: true, fields: structFields(type.fields) };
    case "array": return { name, type: "array", nullable: true, element: toField("element", type.element) };
    case "null": return { name, type: "string", nullable: true };
    default: return { name, type: type.kind as DataType, nullable: true };
  }
}

function structFields(fields: ReadonlyMap<string, Inferred>): Field[] {
  return [...fields.keys()].sort().map((name) => toField(name, fields.get(name) as Inferred));
}

/** Infers the schema of JSON Lines texts; lines that are not JSON objects are left out of the inference (and dead-lettered when read). */
export class JsonSchemaInference {
  private type: Inferred = { kind: "struct", fields: new Map() };
  private records = 0;
  private malformed = 0;

  addLine(line: string): void {
    if (line.trim() === "") return;
    let type: Inferred;
    try {
      type = new TypeReader(line).read();
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      this.malformed++;
      return;
    }
    if (type.kind !== "struct") {
      this.malformed++;
      return;
    }
    this.type = merge(this.type, type);
    this.records++;
  }

  /** The schema; with `corruptColumn` and a malformed line seen, that column (string) too, as Spark's PERMISSIVE inference adds it. */
  schema(path: string, corruptColumn?: string): Schema {
    if (this.records === 0 && (corruptColumn === undefined || this.malformed === 0)) throw new AnalysisError(`Unable to infer schema for JSON at '${path}': it has no JSON object. It must be specified manually with .schema(...).`);
    const fields = new Map((this.type as Extract<Inferred, { kind: "struct" }>).fields);
    if (corruptColumn !== undefined && this.malformed > 0 && !fields.has(corruptColumn)) fields.set(corruptColumn, STRING);
    return { fields: structFields(fields) };
  }
}
