// Durations in every form Spark's intervals take, months by the caller's rule, negative ones refused unless allowed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration, parseInterval } from "../../src/core/duration.ts";
import { ConfigError } from "../../src/core/errors.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  const cases: Array<[string, number]> = [
    ["10 minutes", 10 * MINUTE],
    ["1 hour 30 minutes", 90 * MINUTE],
    ["1 HOUR 30 MINUTES", 90 * MINUTE],
    ["interval 10 minutes", 10 * MINUTE],
    ["INTERVAL 2 HOURS 30 MINUTES", 150 * MINUTE],
    ["interval '3' day", 3 * DAY],
    ["INTERVAL '3' DAYS", 3 * DAY],
    ["interval '1' day '2' hours", DAY + 2 * HOUR],
    ["interval '1 day 2 hours'", DAY + 2 * HOUR],
    ["interval '2:30' hour to minute", 150 * MINUTE],
    ["interval '1 02:03:04.5' day to second", DAY + 2 * HOUR + 3 * MINUTE + 4500],
    ["interval '05:06' minute to second", 5 * MINUTE + 6000],
    ["2 weeks", 14 * DAY],
    ["1 day -2 hours", 22 * HOUR],
    ["1.5 seconds", 1500],
    ["500 milliseconds", 500],
    ["100 ms", 100],
    ["250", 250],
  ];
  for (const [text, expected] of cases) {
    it(`reads '${text}' as ${expected} ms`, () => {
      assert.equal(parseDuration(text, "delay"), expected);
    });
  }

  it("keeps months and years apart, as Spark's CalendarInterval does", () => {
    assert.deepEqual(parseInterval("1 year 2 months 3 days", "x"), { months: 14, milliseconds: 3 * DAY });
    assert.deepEqual(parseInterval("interval '1-2' year to month", "x"), { months: 14, milliseconds: 0 });
    assert.deepEqual(parseInterval("interval -'1-2' year to month", "x"), { months: -14, milliseconds: 0 });
  });

  it("counts a month as 31 days where the caller says so (Spark's watermark delay)", () => {
    assert.equal(parseDuration("1 month", "delay", { months: "31 days" }), 31 * DAY);
    assert.equal(parseDuration("1 year", "delay", { months: "31 days" }), 12 * 31 * DAY);
    assert.equal(parseDuration("INTERVAL 1 MONTH 2 DAYS", "delay", { months: "31 days" }), 33 * DAY);
  });

  it("refuses months and years elsewhere, saying why", () => {
    assert.throws(() => parseDuration("1 month", "window() windowDuration"), (error: unknown) => error instanceof ConfigError && /window\(\) windowDuration: '1 month' has months or years, which are not supported here/.test(error.message));
  });

  it("refuses a negative duration with a message that says so, unless allowed", () => {
    for (const text of ["-1 hour", "interval -5 minutes", "interval '-3' day", "1 hour -2 hours"]) {
      assert.throws(() => parseDuration(text, "delay"), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${text}' is negative`), text);
    }
    assert.throws(() => parseDuration(-5, "delay"), /is negative/);
    assert.equal(parseDuration("-5 minutes", "startTime", { negative: "allow" }), -5 * MINUTE);
  });

  it("refuses what is not a duration, naming the argument", () => {
    for (const text of ["soon", "10 parsecs", "interval '2:30' day to hour", "1.5 months"]) {
      assert.throws(() => parseDuration(text, "withWatermark delay"), (error: unknown) => error instanceof ConfigError && error.message.startsWith("withWatermark delay"), text);
    }
  });
});
