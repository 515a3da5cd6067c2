// The open-loop sources' `wake` option (timer, precise, spin; `busyWait` its older spelling): checked at start(),
// naming the option, and the rows a query gets do not depend on it; the first rows of a fresh process do not wait for
// the wake thread's start-up.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ActivitySourceProvider } from "../../src/connectors/sources/activity.ts";
import { RateSourceProvider } from "../../src/connectors/sources/rate.ts";
import { ConfigError } from "../../src/core/errors.ts";
import type { Row } from "../../src/core/types.ts";
import { Session } from "../../src/index.ts";
import { runChild } from "../helpers/child.ts";
import { RecordingContext, sourceRequest } from "./helpers.ts";

const TOTAL_ROWS = 3000;

/** The rows a query over a bounded activity source gets with this wake mode, without their time columns, in a stable order. */
async function activityRows(wake: string): Promise<string[]> {
  const session = Session.builder().appName(`wake-${wake}`).config("rill.transport", "inprocess").getOrCreate();
  try {
    const rows: Row[] = [];
    let complete: () => void = () => undefined;
    const completed = new Promise<void>((resolve) => (complete = resolve));
    const query = await session.readStream.format("activity")
      .option("rowsPerSecond", 20_000).option("numPartitions", 2).option("seed", 5).option("totalRows", TOTAL_ROWS)
      .option("outOfOrderFraction", 0.1).option("duplicateFraction", 0.01)
      .option("wake", wake)
      .load()
      .writeStream.queryName(`wake_${wake}`).trigger({ continuous: "100 milliseconds" })
      .foreach((row) => {
        rows.push(row);
        if (rows.length === TOTAL_ROWS) complete();
      })
      .start();
    await Promise.race([completed, query.awaitTermination()]);
    await query.stop();
    assert.equal(rows.length, TOTAL_ROWS, `wake=${wake}: every row once`);
    // Arrival_Time and Creation_Time follow the schedule's start, a wall-clock time: the rest is the seed's.
    return rows.map(({ Arrival_Time: _arrival, Creation_Time: _creation, ...rest }) => JSON.stringify(rest)).sort();
  } finally {
    await session.stop();
  }
}

describe("the open-loop sources' wake option", () => {
  it("gives a query exactly the rows of wake=timer with wake=precise (and wake=spin)", async () => {
    const timer = await activityRows("timer");
    assert.deepEqual(await activityRows("precise"), timer);
    assert.deepEqual(await activityRows("spin"), timer);
  });

  it("rejects a wrong wake mode at start(), naming the option, its value and the modes", async () => {
    const session = Session.builder().appName("wake-wrong").config("rill.transport", "inprocess").getOrCreate();
    try {
      const start = session.readStream.format("rate").option("wake", "precize").load().writeStream.foreach(() => undefined).start();
      await assert.rejects(start, (error: unknown) => error instanceof ConfigError
        && /Option 'wake' of the rate source is 'precize'; it must be one of 'timer', 'precise', 'spin' \(did you mean 'precise'\?\)/.test(error.message));
    } finally {
      await session.stop();
    }
  });

  it("keeps busyWait as the older spelling of wake=spin, and rejects the two disagreeing", async () => {
    assert.throws(() => new ActivitySourceProvider(sourceRequest("activity", { busyWait: "true", wake: "precise" })), (error: Error) =>
      error instanceof ConfigError && /Options 'wake' \('precise'\) and 'busyWait' \('true'\) of the activity source disagree/.test(error.message));
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { busyWait: "false", wake: "spin" })), /'wake'.*'busyWait'.*disagree/);
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { busyWait: "maybe" })), /Option 'busyWait' of the rate source is 'maybe'/);
    const cases: Array<[Record<string, string>, string]> = [
      [{}, ""], [{ busyWait: "false" }, ""], [{ busyWait: "true" }, ", wake=spin"], [{ wake: "SPIN" }, ", wake=spin"],
      [{ busyWait: "true", wake: "spin" }, ", wake=spin"], [{ busyWait: "false", wake: "precise" }, ", wake=precise"],
    ];
    for (const [options, shown] of cases) {
      const provider = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "5000", ...options }));
      assert.equal(provider.description, `RateStream(rowsPerSecond=5000, numPartitions=1${shown})`, JSON.stringify(options));
      const reader = provider.createReader(0);
      const context = new RecordingContext();
      await reader.open(context);
      await context.waitFor(() => context.notifications >= 3, 10_000, `three notices with ${JSON.stringify(options)}`);
      await reader.close();
    }
  });

  it("with wake=precise, announces the second row of a fresh process no later than a timer would (no wait for the thread)", async () => {
    // Row 0 is due at open(), row 1 2 ms later (500 rows/s): its notice comes before a 4 ms timer set at open().
    const result = await runChild(`
      import { RateSourceProvider } from "./src/connectors/sources/rate.ts";
      import { RecordingContext, sourceRequest } from "./test/connectors/helpers.ts";
      const events = [];
      const reader = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "500", wake: "precise" })).createReader(0);
      const context = new RecordingContext();
      await reader.open(context);
      setTimeout(() => events.push("timer of 4 ms"), 4);
      await context.waitFor(() => context.notifications >= 2 && events.push("row 1") > 0, 10_000, "the second row's notice");
      await context.waitFor(() => context.notifications >= 4, 10_000, "two more notices");
      await reader.close();
      process.stdout.write(JSON.stringify(events));
    `);
    assert.equal(result.code, 0, `the child exits by itself: ${result.signal ?? ""} ${result.stderr}`);
    assert.deepEqual(JSON.parse(result.stdout).slice(0, 2), ["row 1", "timer of 4 ms"]);
  });
});
