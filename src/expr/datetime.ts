// Spark's datetime patterns (`yyyy-MM-dd HH:mm:ss.SSS`) for date_format, to_timestamp and to_date, and the date type's values.
import { AnalysisError } from "../core/errors.ts";

const DAY_MS = 86_400_000;
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** A date value: the milliseconds at 00:00 UTC of the day holding `milliseconds` (Rill's session time zone is UTC). */
export function startOfDay(milliseconds: number): number {
  return Math.floor(milliseconds / DAY_MS) * DAY_MS;
}

/** `cast(d as string)`: `yyyy-MM-dd`, as Spark prints a date. */
export function formatDate(milliseconds: number): string {
  return new Date(milliseconds).toISOString().slice(0, 10);
}

/** One piece of a compiled pattern: a field letter repeated `width` times, or literal text. */
type Piece = { readonly letter: string; readonly width: number } | { readonly text: string };

const FIELD_LETTERS = new Set(["y", "u", "M", "L", "d", "D", "H", "h", "k", "K", "m", "s", "S", "a", "E", "X", "x", "Z", "z", "V", "O"]);

/** Splits a Spark datetime pattern into fields and literals (`'...'` quotes literal text, `''` is a quote). */
export function compilePattern(pattern: string): readonly Piece[] {
  const pieces: Piece[] = [];
  let index = 0;
  while (index < pattern.length) {
    const char = pattern.charAt(index);
    if (char === "'") {
      const close = pattern.indexOf("'", index + 1);
      if (close === index + 1) {
        pieces.push({ text: "'" });
        index += 2;
        continue;
      }
      if (close < 0) throw new AnalysisError(`Unclosed quote in the datetime pattern '${pattern}'`);
      pieces.push({ text: pattern.slice(index + 1, close) });
      index = close + 1;
    } else if (/[A-Za-z]/.test(char)) {
      if (!FIELD_LETTERS.has(char)) {
        throw new AnalysisError(`Illegal pattern character '${char}' in the datetime pattern '${pattern}'`);
      }
      let end = index;
      while (pattern.charAt(end) === char) end++;
      pieces.push({ letter: char, width: end - index });
      index = end;
    } else {
      pieces.push({ text: char });
      index++;
    }
  }
  return pieces;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

function formatField(letter: string, width: number, date: Date, milliseconds: number): string {
  const hour = date.getUTCHours();
  switch (letter) {
    case "y":
    case "u": {
      const year = date.getUTCFullYear();
      return width === 2 ? pad(year % 100, 2) : pad(year, width);
    }
    case "M":
    case "L": {
      const month = date.getUTCMonth();
      if (width >= 4) return MONTHS[month] ?? "";
      if (width === 3) return (MONTHS[month] ?? "").slice(0, 3);
      return pad(month + 1, width);
    }
    case "d": return pad(date.getUTCDate(), width);
    case "D": return pad(Math.floor((milliseconds - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS) + 1, width);
    case "H": return pad(hour, width);
    case "k": return pad(hour === 0 ? 24 : hour, width);
    case "K": return pad(hour % 12, width);
    case "h": return pad(hour % 12 === 0 ? 12 : hour % 12, width);
    case "m": return pad(date.getUTCMinutes(), width);
    case "s": return pad(date.getUTCSeconds(), width);
    case "S": {
      const micros = Math.round((milliseconds - Math.floor(milliseconds / 1000) * 1000) * 1000);
      return pad(micros, 6).padEnd(width, "0").slice(0, width);
    }
    case "a": return hour < 12 ? "AM" : "PM";
    case "E": {
      const day = DAYS[date.getUTCDay()] ?? "";
      return width >= 4 ? day : day.slice(0, 3);
    }
    case "X": return "Z";
    case "x": return width === 1 ? "+00" : width === 3 || width === 5 ? "+00:00" : "+0000";
    case "Z": return width === 4 ? "GMT" : width === 5 ? "Z" : "+0000";
    case "z": return "UTC";
    case "V": return "UTC";
    default: return "GMT";
  }
}

/**
 * date_format(ts, pattern): formats in UTC (Rill's session time zone) with Spark's pattern letters.
 * @example formatWithPattern(Date.UTC(2024, 0, 5, 13, 4, 5), compilePattern("yyyy-MM-dd HH:mm")) // "2024-01-05 13:04"
 */
export function formatWithPattern(milliseconds: number, pieces: readonly Piece[]): string {
  const date = new Date(milliseconds);
  let result = "";
  for (const piece of pieces) result += "text" in piece ? piece.text : formatField(piece.letter, piece.width, date, milliseconds);
  return result;
}

interface ParsedFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micros: number;
  pm: boolean | undefined;
  offsetMinutes: number;
}

/** Reads `width` digits (or, for a width of 1 or 2, one or two digits; for y/S of width 1, any count). */
function readNumber(text: string, at: number, width: number, greedy: boolean): { value: number; end: number } | undefined {
  let end = at;
  const max = greedy ? text.length : width === 1 ? at + 2 : at + width;
  while (end < max && end < text.length && /\d/.test(text.charAt(end))) end++;
  if (end === at || (!greedy && width > 2 && end - at !== width)) return undefined;
  return { value: Number(text.slice(at, end)), end };
}

function readZone(text: string, at: number): { minutes: number; end: number } | undefined {
  const rest = text.slice(at);
  if (/^(Z|UTC|GMT)/.test(rest)) return { minutes: 0, end: at + (rest.startsWith("Z") ? 1 : 3) };
  const match = /^([+-])(\d{2}):?(\d{2})?/.exec(rest);
  if (match === null) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? "0");
  return { minutes: match[1] === "-" ? -minutes : minutes, end: at + match[0].length };
}

function readField(piece: { letter: string; width: number }, text: string, at: number, fields: ParsedFields): number | undefined {
  const { letter, width } = piece;
  if (letter === "a") {
    const word = text.slice(at, at + 2).toUpperCase();
    if (word !== "AM" && word !== "PM") return undefined;
    fields.pm = word === "PM";
    return at + 2;
  }
  if (letter === "M" && width >= 3) {
    const names = width === 3 ? MONTHS.map((name) => name.slice(0, 3)) : MONTHS;
    const index = names.findIndex((name) => text.startsWith(name, at));
    if (index < 0) return undefined;
    fields.month = index + 1;
    return at + (names[index] as string).length;
  }
  if (letter === "E") {
    const names = width >= 4 ? DAYS : DAYS.map((name) => name.slice(0, 3));
    const found = names.find((name) => text.startsWith(name, at));
    return found === undefined ? undefined : at + found.length;
  }
  if (letter === "X" || letter === "x" || letter === "Z" || letter === "z" || letter === "V" || letter === "O") {
    const zone = readZone(text, at);
    if (zone === undefined) return undefined;
    fields.offsetMinutes = zone.minutes;
    return zone.end;
  }
  const number = readNumber(text, at, width, letter === "S" || ((letter === "y" || letter === "u") && width !== 2));
  if (number === undefined) return undefined;
  const { value, end } = number;
  switch (letter) {
    case "y": case "u": fields.year = width === 2 ? 2000 + value : value; break;
    case "M": case "L": fields.month = value; break;
    case "d": fields.day = value; break;
    case "H": case "k": fields.hour = value === 24 && letter === "k" ? 0 : value; break;
    case "h": case "K": fields.hour = value % 12; break;
    case "m": fields.minute = value; break;
    case "s": fields.second = value; break;
    case "S": fields.micros = Number(text.slice(at, end).padEnd(6, "0").slice(0, 6)); break;
    default: return undefined;
  }
  return end;
}

/**
 * to_timestamp(s, pattern) / to_date(s, pattern): the text must match the whole pattern, else null (Spark's
 * non-ANSI behaviour). Missing fields default to 1970-01-01 00:00:00; the zone is UTC unless the text names one.
 */
export function parseWithPattern(text: string, pieces: readonly Piece[]): number | null {
  const fields: ParsedFields = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, micros: 0, pm: undefined, offsetMinutes: 0 };
  let at = 0;
  for (const piece of pieces) {
    if ("text" in piece) {
      if (!text.startsWith(piece.text, at)) return null;
      at += piece.text.length;
      continue;
    }
    const end = readField(piece, text, at, fields);
    if (end === undefined) return null;
    at = end;
  }
  if (at !== text.length) return null;
  const hour = fields.pm === true ? fields.hour + 12 : fields.hour;
  const { year, month, day, minute, second } = fields;
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  return Date.UTC(year, month - 1, day, hour, minute, second) + fields.micros / 1000 - fields.offsetMinutes * 60_000;
}
