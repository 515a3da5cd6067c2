// Durations written as Spark writes them: "1 second", "10 minutes", "500 milliseconds", "100 ms", or a number of ms.
import { ConfigError } from "./errors.ts";

const UNITS: ReadonlyArray<[RegExp, number]> = [
  [/^(ms|msec|msecs|millisecond|milliseconds)$/, 1],
  [/^(s|sec|secs|second|seconds)$/, 1000],
  [/^(m|min|mins|minute|minutes)$/, 60_000],
  [/^(h|hour|hours)$/, 3_600_000],
  [/^(d|day|days)$/, 86_400_000],
  [/^(us|microsecond|microseconds)$/, 0.001],
];

/** Milliseconds in a duration; `what` names the option or argument in the error. */
export function parseDuration(value: string | number, what: string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new ConfigError(`${what} must be a non-negative number of milliseconds, got ${value}.`);
  }
  const text = value.trim().toLowerCase().replace(/^interval\s+/, "");
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!/^(\d+(\.\d+)?\s*[a-z]+\s*)+$/.test(text)) {
    throw new ConfigError(`${what}: cannot read '${value}' as a duration. Write it as Spark does, e.g. "1 second", "500 milliseconds", "10 minutes".`);
  }
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)) {
    const unit = UNITS.find(([regex]) => regex.test(match[2] as string));
    if (!unit) throw new ConfigError(`${what}: unknown time unit '${match[2]}' in '${value}'. Use milliseconds, seconds, minutes, hours or days, e.g. "10 seconds".`);
    total += Number(match[1]) * unit[1];
  }
  return total;
}
