// Runtime value conversions with Spark's (non-ANSI) rules: string to number, number to string, timestamps.
import { doubleToLongValue, parseLongText, type LongValue } from "../core/long.ts";

const DOUBLE_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[dDfF]?$/;
const LONG_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const SPECIAL_DOUBLES: ReadonlyMap<string, number> = new Map([
  ["nan", Number.NaN],
  ["inf", Number.POSITIVE_INFINITY], ["+inf", Number.POSITIVE_INFINITY], ["infinity", Number.POSITIVE_INFINITY],
  ["+infinity", Number.POSITIVE_INFINITY], ["-inf", Number.NEGATIVE_INFINITY], ["-infinity", Number.NEGATIVE_INFINITY],
]);
const TRUE_TEXT = new Set(["t", "true", "y", "yes", "1"]);
const FALSE_TEXT = new Set(["f", "false", "n", "no", "0"]);

/** `cast(s as double)`: surrounding whitespace ignored, anything unparseable is null. */
export function parseDouble(text: string): number | null {
  const trimmed = text.trim();
  if (DOUBLE_TEXT.test(trimmed)) return Number.parseFloat(trimmed);
  return SPECIAL_DOUBLES.get(trimmed.toLowerCase()) ?? null;
}

/** `cast(s as bigint)`: an integer, or a decimal truncated toward zero, exact; exponents, words and overflows are null. */
export function parseLong(text: string): LongValue | null {
  const trimmed = text.trim();
  if (!LONG_TEXT.test(trimmed)) return null;
  const dot = trimmed.indexOf(".");
  const whole = dot < 0 ? trimmed : trimmed.slice(0, dot);
  if (whole === "" || whole === "+" || whole === "-") return 0;
  // Up to 15 digits a double holds the integer exactly; longer ones go through BigInt.
  return whole.replace(/^[+-]/, "").length <= 15 ? Number(whole) + 0 : parseLongText(whole);
}

/** `cast(s as boolean)` accepts what Spark accepts: t/true/y/yes/1 and f/false/n/no/0, any case. */
export function parseBoolean(text: string): boolean | null {
  const lower = text.trim().toLowerCase();
  if (TRUE_TEXT.has(lower)) return true;
  if (FALSE_TEXT.has(lower)) return false;
  return null;
}

const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;

/** `cast(s as int)`: like parseLong, and null outside the 32-bit range, as Spark's non-ANSI cast of a string is. */
export function parseInt32(text: string): number | null {
  const value = parseLong(text);
  return value === null || typeof value === "bigint" || value < INT_MIN || value > INT_MAX ? null : value;
}

/** `cast(l as int)` of a long: Java's narrowing, which keeps the low 32 bits (Spark without ANSI mode). */
export function longToInt(value: LongValue): number {
  return typeof value === "bigint" ? Number(BigInt.asIntN(32, value)) : value | 0;
}

/** `cast(d as int)` of a double: truncates toward zero and saturates at the int range (Java's d2i); NaN and infinities have no value. */
export function doubleToInt(value: number): number | null {
  if (!Number.isFinite(value)) return null;
  return Math.min(INT_MAX, Math.max(INT_MIN, Math.trunc(value))) + 0;
}

/** `cast(d as bigint)`: truncates toward zero (saturating at the long range); NaN and infinities have no long value. */
export function doubleToLong(value: number): LongValue | null {
  return doubleToLongValue(value);
}

/** Java's Double.toString, which Spark uses: `1.0`, `0.001`, `1.0E7`, `1.5E-4`, `NaN`, `Infinity`. */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    const text = String(value);
    return text.includes(".") ? text : `${text}.0`;
  }
  const [mantissa = "", exponent = ""] = value.toExponential().split("e");
  const fullMantissa = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return `${fullMantissa}E${exponent.replace("+", "")}`;
}

/** How Spark prints a value of unknown static type: integers as longs, other numbers as doubles. */
export function valueToString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : formatDouble(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (value instanceof Date) return formatTimestamp(value.getTime());
  return String(value);
}

const TIMESTAMP_TEXT =
  /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?)?)?\s*(Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$/i;

/**
 * `cast(s as timestamp)`: milliseconds since the epoch, or null. `yyyy[-MM[-dd[ HH:mm[:ss[.fraction]]]]][zone]`
 * without a zone is read as UTC (Rill's session time zone); other forms go to Date.parse.
 */
export function parseTimestamp(text: string): number | null {
  const trimmed = text.trim();
  const match = TIMESTAMP_TEXT.exec(trimmed);
  if (match === null) {
    const parsed = Date.parse(trimmed);
    return Number.isNaN(parsed) ? null : parsed;
  }
  const [, year = "", month = "1", day = "1", hour = "0", minute = "0", second = "0", fraction = "", zone] = match;
  const fields = [Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)] as const;
  const [y, mo, d, h, mi, s] = fields;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  const micros = fraction === "" ? 0 : Number(fraction.padEnd(6, "0").slice(0, 6));
  const offsetMinutes = zoneOffsetMinutes(zone);
  if (offsetMinutes === null) return null;
  return Date.UTC(y, mo - 1, d, h, mi, s) + micros / 1000 - offsetMinutes * 60_000;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function zoneOffsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || /^(z|utc)$/i.test(zone)) return 0;
  const match = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(zone);
  if (match === null) return null;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? "0");
  if (hours > 18 || minutes > 59) return null;
  return (match[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
}

/** `cast(ts as string)` in UTC: `yyyy-MM-dd HH:mm:ss`, then the fraction without trailing zeros, as Spark prints it. */
export function formatTimestamp(milliseconds: number): string {
  const totalMicros = Math.round(milliseconds * 1000);
  const seconds = Math.floor(totalMicros / 1_000_000);
  const micros = totalMicros - seconds * 1_000_000;
  const iso = new Date(seconds * 1000).toISOString();
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  if (micros === 0) return base;
  return `${base}.${String(micros).padStart(6, "0").replace(/0+$/, "")}`;
}

/** `cast(n as timestamp)`: Spark reads the number as seconds; kept to the microsecond as Spark keeps it. */
export function secondsToTimestamp(seconds: number): number | null {
  if (!Number.isFinite(seconds)) return null;
  return Math.trunc(seconds * 1_000_000) / 1000;
}

/** `cast(ts as bigint)`: whole seconds, rounded down as Spark does. */
export function timestampToSeconds(milliseconds: number): number {
  return Math.floor(milliseconds / 1000);
}
