// Durations written as Spark writes intervals: "10 minutes", "1 hour 30 minutes", "interval '3' day",
// "INTERVAL 2 HOURS 30 MINUTES", "interval '2:30' hour to minute", "1 month", "-5 seconds", "100 ms", or a number of ms.
import { ConfigError } from "./errors.ts";

/** An interval as Spark keeps one (CalendarInterval): months apart, since a month has no fixed length. */
export interface Interval {
  readonly months: number;
  /** Days and everything shorter, in milliseconds (a day is 24 hours). */
  readonly milliseconds: number;
}

/** What a caller accepts beyond a plain non-negative duration. */
export interface DurationRules {
  /**
   * "refuse" (the default: window durations and triggers, as in Spark), or "31 days": Spark's watermark delay
   * counts a month as 31 days (EventTimeWatermark.getDelayMs).
   */
  readonly months?: "refuse" | "31 days";
  /** Negative durations are refused unless allowed (a window's start time may be negative). */
  readonly negative?: "refuse" | "allow";
}

const DAY = 86_400_000;

const UNITS: ReadonlyArray<[RegExp, Interval]> = [
  [/^(y|yr|yrs|year|years)$/, { months: 12, milliseconds: 0 }],
  [/^(mo|mon|mons|month|months)$/, { months: 1, milliseconds: 0 }],
  [/^(w|week|weeks)$/, { months: 0, milliseconds: 7 * DAY }],
  [/^(d|day|days)$/, { months: 0, milliseconds: DAY }],
  [/^(h|hour|hours)$/, { months: 0, milliseconds: 3_600_000 }],
  [/^(m|min|mins|minute|minutes)$/, { months: 0, milliseconds: 60_000 }],
  [/^(s|sec|secs|second|seconds)$/, { months: 0, milliseconds: 1000 }],
  [/^(ms|msec|msecs|millisecond|milliseconds)$/, { months: 0, milliseconds: 1 }],
  [/^(us|microsecond|microseconds)$/, { months: 0, milliseconds: 0.001 }],
];

const HINT = `Write it as Spark does, e.g. "10 minutes", "1 hour 30 minutes", "interval '3' day" or "INTERVAL 2 HOURS 30 MINUTES".`;

/** Milliseconds in a duration; `what` names the option or argument in the error. */
export function parseDuration(value: string | number, what: string, rules: DurationRules = {}): number {
  const interval = typeof value === "number" ? numberInterval(value, what) : parseInterval(value, what);
  let milliseconds = interval.milliseconds;
  if (interval.months !== 0) {
    if (rules.months !== "31 days") {
      throw new ConfigError(`${what}: '${String(value)}' has months or years, which are not supported here (as in Spark): a month has no fixed length. Write it in days or weeks, e.g. "30 days".`);
    }
    milliseconds += interval.months * 31 * DAY;
  }
  if (milliseconds < 0 && rules.negative !== "allow") throw new ConfigError(`${what}: '${String(value)}' is negative; it must be 0 or more.`);
  return milliseconds;
}

function numberInterval(value: number, what: string): Interval {
  if (!Number.isFinite(value)) throw new ConfigError(`${what} must be a finite number of milliseconds, got ${value}.`);
  return { months: 0, milliseconds: value };
}

/** Reads an interval the way Spark's IntervalUtils.fromIntervalString does (unit lists, SQL interval literals), plus bare milliseconds. */
export function parseInterval(value: string, what: string): Interval {
  const text = value.trim().toLowerCase().replace(/\s+/g, " ");
  const body = text.startsWith("interval") ? text.slice("interval".length).trim() : text;
  if (/^[+-]?\d+(\.\d+)?$/.test(body)) return { months: 0, milliseconds: Number(body) };
  const ranged = unitToUnit(body, value, what);
  if (ranged) return ranged;
  // A quoted value is read as it would be unquoted: '3' day, '1 day 2 hours'.
  const unquoted = body.replace(/([+-])?'([^']*)'/g, (_match, sign: string | undefined, inner: string) => (sign === "-" ? negateAll(inner) : inner)).trim();
  if (!/^([+-]?\s*\d+(\.\d+)?\s*[a-z]+\s*)+$/.test(unquoted)) throw new ConfigError(`${what}: cannot read '${value}' as a duration. ${HINT}`);
  let months = 0;
  let milliseconds = 0;
  for (const match of unquoted.matchAll(/([+-]?)\s*(\d+(?:\.\d+)?)\s*([a-z]+)/g)) {
    const unit = UNITS.find(([regex]) => regex.test(match[3] as string))?.[1];
    if (!unit) throw new ConfigError(`${what}: unknown time unit '${match[3]}' in '${value}'. Use years, months, weeks, days, hours, minutes, seconds or milliseconds.`);
    const amount = Number(match[2]) * (match[1] === "-" ? -1 : 1);
    if (unit.months !== 0 && !Number.isInteger(amount)) throw new ConfigError(`${what}: '${value}' has a fraction of a ${match[3]}; months and years must be whole numbers.`);
    months += amount * unit.months;
    milliseconds += amount * unit.milliseconds;
  }
  return { months, milliseconds };
}

/** A minus sign in front of a quoted unit list negates each of its amounts: -'1 day 2 hours'. */
function negateAll(inner: string): string {
  return inner.replace(/([+-]?)(\d)/g, (_match, sign: string, digit: string) => `${sign === "-" ? "+" : "-"}${digit}`);
}

/** SQL's unit-to-unit literals: '1-2' year to month, '3 4:05:06.5' day to second, '2:30' hour to minute. */
function unitToUnit(body: string, value: string, what: string): Interval | undefined {
  const match = /^([+-])?'\s*([+-])?([^']*)'\s*(year|month|day|hour|minute|second)s? to (year|month|day|hour|minute|second)s?$/.exec(body);
  if (!match) return undefined;
  const negative = (match[1] === "-") !== (match[2] === "-");
  const sign = negative ? -1 : 1;
  const text = (match[3] as string).trim();
  const range = `${match[4]} to ${match[5]}`;
  const fail = (): never => {
    throw new ConfigError(`${what}: cannot read '${value}': '${text}' is not of the form ${range} takes. ${HINT}`);
  };
  if (range === "year to month") {
    const parts = /^(\d+)-(\d+)$/.exec(text) ?? fail();
    return { months: sign * (Number(parts[1]) * 12 + Number(parts[2])), milliseconds: 0 };
  }
  const fields: Record<string, { pattern: RegExp; units: number[] }> = {
    "day to hour": { pattern: /^(\d+) (\d+)$/, units: [DAY, 3_600_000] },
    "day to minute": { pattern: /^(\d+) (\d+):(\d+)$/, units: [DAY, 3_600_000, 60_000] },
    "day to second": { pattern: /^(\d+) (\d+):(\d+):(\d+(?:\.\d+)?)$/, units: [DAY, 3_600_000, 60_000, 1000] },
    "hour to minute": { pattern: /^(\d+):(\d+)$/, units: [3_600_000, 60_000] },
    "hour to second": { pattern: /^(\d+):(\d+):(\d+(?:\.\d+)?)$/, units: [3_600_000, 60_000, 1000] },
    "minute to second": { pattern: /^(\d+):(\d+(?:\.\d+)?)$/, units: [60_000, 1000] },
  };
  const form = fields[range] ?? fail();
  const parts = form.pattern.exec(text) ?? fail();
  let milliseconds = 0;
  form.units.forEach((unit, index) => (milliseconds += Number(parts[index + 1]) * unit));
  return { months: 0, milliseconds: sign * milliseconds };
}
