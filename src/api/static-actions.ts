// What a static DataFrame's actions print: show()'s table and printSchema()'s tree, as Spark prints them.
import type { Field, Row, Schema } from "../core/types.ts";
import { jsonWithLongs } from "../core/long.ts";

function cell(value: unknown, field: Field | undefined): string {
  if (value === null || value === undefined) return "NULL";
  if (field?.type === "timestamp" && typeof value === "number") return new Date(value).toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "");
  if (field?.type === "date" && typeof value === "number") return new Date(value).toISOString().slice(0, 10);
  if (field?.type === "double" && typeof value === "number" && Number.isInteger(value)) return value.toFixed(1);
  if (Array.isArray(value)) return `[${value.map((item) => cell(item, field?.element)).join(", ")}]`;
  if (typeof value === "object" && !(value instanceof Uint8Array)) {
    const entries = Object.entries(value as Row);
    return `{${entries.map(([name, item]) => cell(item, field?.fields?.find((inner) => inner.name === name))).join(", ")}}`;
  }
  return typeof value === "string" ? value : typeof value === "bigint" ? value.toString() : jsonWithLongs(value);
}

/** Spark's Dataset.showString: a table of the first `n` rows; with `truncate`, cells cut to 20 characters and right-aligned. */
export function showString(schema: Schema, rows: readonly Row[], n: number, truncate: boolean | number, more: boolean): string {
  const width = truncate === true ? 20 : truncate === false ? 0 : truncate;
  const names = schema.fields.map((field) => field.name);
  const cut = (text: string) => (width > 0 && text.length > width ? (width < 4 ? text.slice(0, width) : `${text.slice(0, width - 3)}...`) : text);
  const table = [names.map(cut), ...rows.slice(0, n).map((row) => schema.fields.map((field) => cut(cell(row[field.name], field))))];
  const widths = names.map((_, column) => Math.max(3, ...table.map((line) => (line[column] as string).length)));
  const pad = (text: string, column: number) => (width > 0 ? text.padStart(widths[column] as number) : text.padEnd(widths[column] as number));
  const rule = `+${widths.map((w) => "-".repeat(w)).join("+")}+`;
  const line = (cells: string[]) => `|${cells.map(pad).join("|")}|`;
  const body = table.slice(1).map(line);
  const lines = [rule, line(table[0] as string[]), rule, ...body, rule];
  if (more) lines.push(`only showing top ${n} ${n === 1 ? "row" : "rows"}`);
  return `${lines.join("\n")}\n`;
}

/** Spark's StructType.treeString. */
export function treeString(schema: Schema): string {
  const lines = ["root"];
  const walk = (fields: readonly Field[], prefix: string) => {
    for (const field of fields) {
      lines.push(`${prefix}-- ${field.name}: ${typeName(field)} (nullable = ${field.nullable})`);
      if (field.type === "struct" && field.fields) walk(field.fields, `${prefix}    |`);
      if (field.type === "array" && field.element) {
        lines.push(`${prefix}    |-- element: ${typeName(field.element)} (containsNull = ${field.element.nullable})`);
        if (field.element.fields) walk(field.element.fields, `${prefix}    |    |`);
      }
    }
  };
  walk(schema.fields, " |");
  return `${lines.join("\n")}\n`;
}

function typeName(field: Field): string {
  return field.type === "int" ? "integer" : field.type;
}
