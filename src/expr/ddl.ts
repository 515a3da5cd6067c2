// Spark's DDL schema strings ("a INT, b STRING, c ARRAY<INT>, d STRUCT<x: DOUBLE>"), as from_json takes them.
import { AnalysisError } from "../core/errors.ts";
import type { Field } from "../core/types.ts";
import { parseDataType } from "./typenames.ts";

const TOKEN = /\s*(`[^`]*`|[A-Za-z_][A-Za-z0-9_]*(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?|[<>,:])/y;

class DdlReader {
  private readonly tokens: string[] = [];
  private index = 0;

  constructor(private readonly text: string) {
    let position = 0;
    for (;;) {
      TOKEN.lastIndex = position;
      const match = TOKEN.exec(text);
      if (match === null) break;
      this.tokens.push(match[1] as string);
      position = TOKEN.lastIndex;
    }
    if (text.slice(position).trim() !== "") throw this.error(`unexpected '${text.slice(position).trim()}'`);
  }

  peek(): string | undefined {
    return this.tokens[this.index];
  }

  next(what: string): string {
    const token = this.tokens[this.index++];
    if (token === undefined) throw this.error(`expected ${what} at the end`);
    return token;
  }

  expect(token: string): void {
    const found = this.next(`'${token}'`);
    if (found !== token) throw this.error(`expected '${token}' but found '${found}'`);
  }

  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }

  error(message: string): AnalysisError {
    return new AnalysisError(`Cannot parse the schema '${this.text}': ${message}. Write it as DDL, e.g. "a INT, b STRING, c ARRAY<DOUBLE>"`);
  }
}

function readType(reader: DdlReader, name: string): Field {
  const word = reader.next("a type");
  const lower = word.toLowerCase();
  if (lower === "array") {
    reader.expect("<");
    const element = readType(reader, "element");
    reader.expect(">");
    return { name, type: "array", nullable: true, element };
  }
  if (lower === "struct") {
    reader.expect("<");
    const fields = readFields(reader, ">");
    // A struct is a JavaScript object, where this name sets the prototype: the field would be lost (analyzer.ts).
    if (fields.some((field) => field.name === "__proto__")) throw new AnalysisError("A struct field named `__proto__` is not supported: structs are JavaScript objects, where that name is not a property. Give the field another name.");
    reader.expect(">");
    return { name, type: "struct", nullable: true, fields };
  }
  const type = parseDataType(word.replace(/\s+/g, ""));
  if (type === undefined) throw reader.error(`unknown type '${word}'`);
  return { name, type, nullable: true };
}

function readFields(reader: DdlReader, closing: string | undefined): Field[] {
  const fields: Field[] = [];
  for (;;) {
    const token = reader.next("a field name");
    const name = token.startsWith("`") ? token.slice(1, -1) : token;
    if (reader.peek() === ":") reader.next(":");
    fields.push(readType(reader, name));
    if (reader.peek() !== ",") break;
    reader.next(",");
  }
  if (closing === undefined && !reader.atEnd()) throw reader.error(`unexpected '${reader.peek() ?? ""}'`);
  return fields;
}

/**
 * The fields of a DDL schema; a whole `STRUCT<...>` is accepted too.
 * @example parseDdlSchema("a INT, b ARRAY<STRING>") // [{ name: "a", type: "int", ... }, { name: "b", type: "array", ... }]
 */
export function parseDdlSchema(text: string): Field[] {
  const reader = new DdlReader(text);
  if (reader.peek()?.toLowerCase() === "struct") {
    const struct = readType(reader, "struct");
    if (!reader.atEnd()) throw reader.error(`unexpected '${reader.peek() ?? ""}'`);
    return [...(struct.fields ?? [])];
  }
  return readFields(reader, undefined);
}
