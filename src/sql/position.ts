// Where an offset lies in a SQL text (line and column, 1-based), and the errors that point there with a caret.
import { ParseError } from "../core/errors.ts";

export interface TextLocation {
  readonly line: number;
  readonly column: number;
  /** The text of that line, tabs shown as spaces so the caret lines up. */
  readonly lineText: string;
}

export function locate(text: string, position: number): TextLocation {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", lineStart);
  const lineText = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd).replace(/[\t\r]/g, " ");
  return { line, column: position - lineStart + 1, lineText };
}

/** "at line 2, column 8", the line, and a caret under the column. */
export function pointAt(text: string, position: number): string {
  const { line, column, lineText } = locate(text, position);
  return `at line ${line}, column ${column}:\n  ${lineText}\n  ${" ".repeat(column - 1)}^`;
}

/** The ParseError of a SQL text: the line and column, the line itself with a caret, and a hint. */
export function sqlErrorAt(text: string, position: number, detail: string, hint?: string): ParseError {
  const { line, column, lineText } = locate(text, position);
  const lines = [`Cannot parse SQL at line ${line}, column ${column}: ${detail}`, `  ${lineText}`, `  ${" ".repeat(column - 1)}^`];
  if (hint !== undefined) lines.push(hint);
  return new ParseError(lines.join("\n"), position, { line, column });
}
