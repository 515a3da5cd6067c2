// Lexer for Spark SQL expressions: turns text into tokens that carry their position for error carets.
import { parseLongText } from "../core/long.ts";
import { ParseError } from "../core/errors.ts";

export type Token =
  | { readonly kind: "number"; readonly text: string; readonly value: number | bigint; readonly isDouble: boolean; readonly isLong: boolean; readonly position: number }
  | { readonly kind: "string"; readonly value: string; readonly position: number }
  | { readonly kind: "identifier"; readonly text: string; readonly quoted: boolean; readonly position: number }
  | { readonly kind: "operator"; readonly text: string; readonly position: number }
  | { readonly kind: "eof"; readonly position: number };

/** Longest operators first, so `<=>` wins over `<=` and `<`. */
const OPERATORS = ["<=>", "<=", ">=", "<>", "!=", "==", "||", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", ".", "!", ";"];

const IDENTIFIER_START = /[\p{L}_]/u;
const IDENTIFIER_PART = /[\p{L}\p{N}_]/u;
const DIGIT = /[0-9]/;

/** Spark's escapes in string literals; `\%` and `\_` keep their backslash so LIKE can see them. */
const STRING_ESCAPES: Readonly<Record<string, string>> = {
  "0": "\0", b: "\b", n: "\n", r: "\r", t: "\t", Z: "\x1a", "%": "\\%", _: "\\_",
};

/** Builds a parse error at a position of the text: expressions and SQL statements render it differently. */
export type ErrorAt = (text: string, position: number, detail: string, hint?: string) => ParseError;

/** Builds the error every lexer and parser failure throws: the text, the position and a caret under it. */
export function parseErrorAt(text: string, position: number, detail: string, hint?: string): ParseError {
  const shown = text.replace(/[\n\r\t]/g, " ");
  const lines = [
    `Cannot parse expression '${text}' at position ${position}: ${detail}`,
    `  ${shown}`,
    `  ${" ".repeat(position)}^`,
  ];
  if (hint !== undefined) lines.push(hint);
  return new ParseError(lines.join("\n"), position);
}

export function tokenize(text: string, errorAt: ErrorAt = parseErrorAt): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < text.length) {
    const char = text.charAt(position);
    if (/\s/.test(char)) {
      position++;
    } else if (text.startsWith("--", position)) {
      const end = text.indexOf("\n", position);
      position = end < 0 ? text.length : end + 1;
    } else if (text.startsWith("/*", position)) {
      position = skipBlockComment(text, position, errorAt);
    } else if (DIGIT.test(char) || (char === "." && DIGIT.test(text.charAt(position + 1)))) {
      const token = readNumber(text, position, errorAt);
      tokens.push(token);
      position += token.text.length;
    } else if (char === "'" || char === '"') {
      const end = readString(text, position, tokens, errorAt);
      position = end;
    } else if (char === "`") {
      position = readQuotedIdentifier(text, position, tokens, errorAt);
    } else if (IDENTIFIER_START.test(char)) {
      let end = position + 1;
      while (end < text.length && IDENTIFIER_PART.test(text.charAt(end))) end++;
      tokens.push({ kind: "identifier", text: text.slice(position, end), quoted: false, position });
      position = end;
    } else {
      const operator = OPERATORS.find((candidate) => text.startsWith(candidate, position));
      if (operator === undefined) throw errorAt(text, position, `unexpected character '${char}'`);
      tokens.push({ kind: "operator", text: operator, position });
      position += operator.length;
    }
  }
  tokens.push({ kind: "eof", position: text.length });
  return tokens;
}

/** Skips a bracketed comment; as in Spark, comments nest. */
function skipBlockComment(text: string, start: number, errorAt: ErrorAt): number {
  let depth = 0;
  let position = start;
  while (position < text.length) {
    if (text.startsWith("/*", position)) {
      depth++;
      position += 2;
    } else if (text.startsWith("*/", position)) {
      depth--;
      position += 2;
      if (depth === 0) return position;
    } else {
      position++;
    }
  }
  throw errorAt(text, start, "unterminated comment: '/*' without '*/'");
}

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const LONG_SUFFIX = /^[lLsSyY]/;
const DOUBLE_SUFFIX = /^(?:[dDfF]|[bB][dD])/;

function readNumber(text: string, position: number, errorAt: ErrorAt): Extract<Token, { kind: "number" }> {
  const rest = text.slice(position);
  const digits = NUMBER.exec(rest)?.[0] ?? "";
  let isDouble = /[.eE]/.test(digits);
  let length = digits.length;
  let isLong = false;
  const suffix = rest.slice(length);
  const doubleSuffix = DOUBLE_SUFFIX.exec(suffix)?.[0];
  if (doubleSuffix !== undefined) {
    isDouble = true;
    length += doubleSuffix.length;
  } else if (!isDouble && LONG_SUFFIX.test(suffix)) {
    // 2L is Spark's BIGINT literal; 2S and 2Y (SMALLINT, TINYINT) are ints here (README: one int type).
    isLong = /^[lL]/.test(suffix);
    length += 1;
  }
  const next = text.charAt(position + length);
  if (next !== "" && IDENTIFIER_PART.test(next)) {
    throw errorAt(text, position + length, `unexpected character '${next}' after number`);
  }
  // An integer literal past 2^53 stays exact as a long (src/core/long.ts); past the long range it is a double.
  const value = isDouble ? Number(digits) : (parseLongText(digits) ?? Number(digits));
  const double = isDouble || typeof value === "number" && !Number.isSafeInteger(value);
  return { kind: "number", text: rest.slice(0, length), value, isDouble: double, isLong: isLong && !double, position };
}

function readString(text: string, start: number, tokens: Token[], errorAt: ErrorAt): number {
  const quote = text.charAt(start);
  let value = "";
  let position = start + 1;
  while (position < text.length) {
    const char = text.charAt(position);
    if (char === quote) {
      tokens.push({ kind: "string", value, position: start });
      return position + 1;
    }
    if (char === "\\" && position + 1 < text.length) {
      const escaped = text.charAt(position + 1);
      if (escaped === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(position + 2, position + 6))) {
        value += String.fromCharCode(parseInt(text.slice(position + 2, position + 6), 16));
        position += 6;
        continue;
      }
      value += STRING_ESCAPES[escaped] ?? escaped;
      position += 2;
      continue;
    }
    value += char;
    position++;
  }
  throw errorAt(text, start, "unterminated string literal");
}

function readQuotedIdentifier(text: string, start: number, tokens: Token[], errorAt: ErrorAt): number {
  let name = "";
  let position = start + 1;
  while (position < text.length) {
    const char = text.charAt(position);
    if (char === "`") {
      // A doubled backtick is a literal backtick inside the name.
      if (text.charAt(position + 1) === "`") {
        name += "`";
        position += 2;
        continue;
      }
      tokens.push({ kind: "identifier", text: name, quoted: true, position: start });
      return position + 1;
    }
    name += char;
    position++;
  }
  throw errorAt(text, start, "unterminated quoted identifier");
}
