// Spark's 64-bit long, exact: a JS number while it is a safe integer, a bigint beyond (one representation per value).
//
// A long value is always in this canonical form, so equal longs are === and hash to the same key string. Arithmetic
// stays on numbers while the result is a safe integer (the common case costs one check) and goes to bigint past it,
// wrapping at 64 bits as Java's long does (Spark without ANSI mode).

export type LongValue = number | bigint;

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;

/** The canonical form of a 64-bit integer given as a bigint (wrapped to 64 bits). */
export function longOfBigInt(value: bigint): LongValue {
  const wrapped = value >= MIN_LONG && value <= MAX_LONG ? value : BigInt.asIntN(64, value);
  return wrapped >= -9007199254740991n && wrapped <= 9007199254740991n ? Number(wrapped) : wrapped;
}

/** A long as a double (Spark's cast(l as double)): the nearest double. */
export function longToDouble(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : (value as number);
}

function big(value: LongValue): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

export function addLong(a: LongValue, b: LongValue): LongValue {
  if (typeof a === "number" && typeof b === "number") {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return longOfBigInt(big(a) + big(b));
}

export function subtractLong(a: LongValue, b: LongValue): LongValue {
  if (typeof a === "number" && typeof b === "number") {
    const difference = a - b;
    if (Number.isSafeInteger(difference)) return difference;
  }
  return longOfBigInt(big(a) - big(b));
}

export function multiplyLong(a: LongValue, b: LongValue): LongValue {
  if (typeof a === "number" && typeof b === "number") {
    // A product of magnitude below 2^53 is exact in a double; at or past it the bigint path decides.
    const product = a * b + 0;
    if (Number.isSafeInteger(product)) return product;
  }
  return longOfBigInt(big(a) * big(b));
}

/** Java's %: the sign of the dividend; null for a zero divisor (Spark without ANSI mode). */
export function remainderLong(a: LongValue, b: LongValue): LongValue | null {
  if (typeof a === "number" && typeof b === "number") return b === 0 ? null : (a % b) + 0;
  const divisor = big(b);
  return divisor === 0n ? null : longOfBigInt(big(a) % divisor);
}

export function negateLong(a: LongValue): LongValue {
  return typeof a === "number" ? 0 - a : longOfBigInt(-a);
}

/** Compares two longs: negative, 0 or positive. */
export function compareLong(a: LongValue, b: LongValue): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses an integer text exactly (no sign checks beyond an optional +/-); null outside the 64-bit range. */
export function parseLongText(digits: string): LongValue | null {
  const value = BigInt(digits);
  if (value < MIN_LONG || value > MAX_LONG) return null;
  return longOfBigInt(value);
}

/** A double truncated to a long (Java's d2l: saturates at the long range); NaN and infinities have none. */
export function doubleToLongValue(value: number): LongValue | null {
  if (!Number.isFinite(value)) return null;
  const truncated = Math.trunc(value) + 0;
  if (Number.isSafeInteger(truncated)) return truncated;
  const exact = BigInt(truncated);
  return longOfBigInt(exact < MIN_LONG ? MIN_LONG : exact > MAX_LONG ? MAX_LONG : exact);
}

/** JSON text of a row whose longs may be bigints: they are written as JSON numbers, digit for digit, as Spark writes longs. */
export function jsonWithLongs(value: unknown, replacer?: (key: string, value: unknown) => unknown): string {
  let sawBigInt = false;
  const text: string | undefined = JSON.stringify(value, (key, original: unknown) => {
    const item = replacer ? replacer(key, original) : original;
    if (typeof item !== "bigint") return item;
    sawBigInt = true;
    return `${BIGINT_MARK}${item.toString()}`;
  });
  if (text === undefined) return String(value);
  return sawBigInt ? text.replace(BIGINT_PATTERN, "$1") : text;
}

const BIGINT_MARK = "\u0000rill-long:";
const BIGINT_PATTERN = /"\\u0000rill-long:(-?\d+)"/g;

/** An integer of 16 or more digits may be past 2^53: only a text with one pays for the exact parse. */
const LONG_DIGITS = /\d{16}/;

/**
 * JSON.parse, except that an integer past 2^53 becomes an exact long (a bigint) instead of the nearest double, as
 * Spark reads a JSON long. A text without a run of 16 digits takes JSON.parse's path alone.
 */
export function parseJsonWithLongs(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  let marked = "";
  let last = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x22) {
      inString = true;
      continue;
    }
    if (char !== 0x2d && (char < 0x30 || char > 0x39)) continue;
    let end = index + 1;
    while (end < text.length && /[0-9eE.+-]/.test(text.charAt(end))) end++;
    const token = text.slice(index, end);
    if (/^-?\d{16,}$/.test(token) && !Number.isSafeInteger(Number(token)) && parseLongText(token) !== null) {
      // The mark is written escaped (\\u0000...), as JSON text must; JSON.parse turns it into JSON_LONG_MARK.
      marked += `${text.slice(last, index)}"\\u0000rill-json-long:${token}"`;
      last = end;
    }
    index = end - 1;
  }
  if (last === 0) return JSON.parse(text);
  return JSON.parse(marked + text.slice(last), (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(JSON_LONG_MARK) ? longOfBigInt(BigInt(value.slice(JSON_LONG_MARK.length))) : value);
}

const JSON_LONG_MARK = "\u0000rill-json-long:";
