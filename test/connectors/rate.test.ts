// The rate source: rows due open-loop by the clock, distinct values across partitions, since = due time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenLoopSchedule, partitionShare } from "../../src/connectors/sources/open-loop.ts";
import { RateSourceProvider } from "../../src/connectors/sources/rate.ts";
import { nowMs } from "../../src/core/clock.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { RecordingContext, drain, sleep, sourceRequest } from "./helpers.ts";

describe("OpenLoopSchedule", () => {
  it("makes row i due at start + i/rowsPerSecond", () => {
    const schedule = new OpenLoopSchedule({ rowsPerSecond: 100, rampUpMs: 0, totalRows: undefined });
    schedule.begin(1000);
    assert.equal(schedule.dueTime(0), 1000);
    assert.equal(schedule.dueTime(50), 1500);
    assert.equal(schedule.rowsDueBy(999), 0);
    assert.equal(schedule.rowsDueBy(1000), 1);
    assert.equal(schedule.rowsDueBy(1500), 51);
    assert.equal(schedule.rowsDueBy(2000), 101);
  });

  it("ramps the rate up linearly over rampUpTime, and rowsDueBy inverts dueTime", () => {
    const schedule = new OpenLoopSchedule({ rowsPerSecond: 1000, rampUpMs: 2000, totalRows: undefined });
    schedule.begin(0);
    assert.equal(schedule.rowsDueBy(500), 63, "1000 * 0.5^2 / (2 * 2) = 62.5 rows by 0.5 s, rows 0..62");
    assert.equal(schedule.rowsDueBy(2000), 1001, "half the full rate on average over the ramp");
    assert.equal(schedule.rowsDueBy(3000), 2001, "full rate after the ramp");
    for (const index of [0, 1, 10, 999, 1000, 1001, 5000]) assert.equal(schedule.rowsDueBy(schedule.dueTime(index)), index + 1, `row ${index}`);
  });

  it("stops at totalRows and shares rows across partitions as p, p+n, ...", () => {
    const schedule = new OpenLoopSchedule({ rowsPerSecond: 1000, rampUpMs: 0, totalRows: 10 });
    schedule.begin(0);
    assert.equal(schedule.rowsDueBy(60_000), 10);
    assert.deepEqual([0, 1, 2].map((partition) => partitionShare(10, partition, 3)), [4, 3, 3]);
    assert.equal(partitionShare(1, 2, 3), 0);
  });
});

describe("rate source", () => {
  it("produces rowsPerSecond rows per second by the clock, with values distinct across partitions", async () => {
    const provider = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "200", numPartitions: "2" }));
    assert.equal(provider.numPartitions, 2);
    assert.deepEqual(provider.schema.fields.map((field) => `${field.name}:${field.type}`), ["timestamp:timestamp", "value:long"]);
    const readers = [provider.createReader(0), provider.createReader(1)];
    const contexts = [new RecordingContext(0, 2), new RecordingContext(1, 2)];
    const beforeOpen = nowMs();
    await Promise.all(readers.map((reader, partition) => reader.open(contexts[partition] as RecordingContext)));
    const afterOpen = nowMs();
    await sleep(600);
    const beforeCount = nowMs();
    for (const reader of readers) await reader.prepare();
    const ready = readers.reduce((sum, reader) => sum + reader.readyCount(), 0);
    const afterCount = nowMs();
    const least = Math.floor(((beforeCount - afterOpen) * 200) / 1000) + 1;
    const most = Math.floor(((afterCount - beforeOpen) * 200) / 1000) + 1;
    assert.ok(ready >= least && ready <= most, `${ready} rows ready, expected between ${least} and ${most}`);
    assert.ok(contexts.every((context) => context.notifications > 0), "the timer tells each partition that rows are due");

    const values: number[] = [];
    for (const [partition, reader] of readers.entries()) {
      const { rows, since } = drain(reader, 7);
      for (const row of rows) assert.equal((row.value as number) % 2, partition, "partition p generates p, p+2, ...");
      const timestamps = rows.map((row) => row.timestamp as number);
      assert.deepEqual(timestamps, [...timestamps].sort((a, b) => a - b));
      assert.ok(since.every((time) => time <= nowMs()));
      values.push(...rows.map((row) => row.value as number));
      await reader.close();
    }
    values.sort((a, b) => a - b);
    assert.ok(values.length >= ready);
    assert.deepEqual(values, values.map((_, index) => index), "values 0..n-1, each once");
  });

  it("reports since as the due time of the oldest row, so lag counts as latency", async () => {
    const provider = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "100" }));
    const reader = provider.createReader(0);
    const context = new RecordingContext();
    const opened = nowMs();
    await reader.open(context);
    await sleep(300);
    const batch = reader.poll(1);
    assert.ok(batch);
    assert.equal(batch.rows[0]?.value, 0);
    assert.ok(batch.since <= nowMs() - 250 && batch.since >= opened - 1, `row 0 was due at the start, ${nowMs() - batch.since} ms ago`);
    assert.equal(batch.rows[0]?.timestamp, Math.floor(batch.since));
    await reader.close();
  });

  it("sleeps on timers by default (at most one wake-up a millisecond), and checks every event-loop turn with busyWait", async () => {
    const wakeUps = async (options: Record<string, string>): Promise<{ notifications: number; elapsed: number }> => {
      const reader = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "100000", ...options })).createReader(0);
      const context = new RecordingContext();
      const opened = nowMs();
      await reader.open(context);
      await sleep(200);
      await reader.close();
      return { notifications: context.notifications, elapsed: nowMs() - opened };
    };
    const timer = await wakeUps({});
    // A row falls due every 10 µs, so every wake-up finds new rows and notifies; Node's timers fire at most once a ms.
    assert.ok(timer.notifications > 0 && timer.notifications <= timer.elapsed + 2, `${timer.notifications} notifications in ${timer.elapsed} ms`);
    const busy = await wakeUps({ busyWait: "true" });
    assert.ok(busy.notifications > 0, "busyWait still tells the actor");
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { busyWait: "always" })), /'busyWait'.*'always'.*'true' or 'false'/);
  });

  it("keeps each partition's own schedule start from its offset, when partitions that started apart meet in one process", async () => {
    // Two workers opened partitions 0 and 1 at different times; after a rollback both run in one process.
    const provider = new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "1000", numPartitions: "2" }));
    const readers = [provider.createReader(0), provider.createReader(1)];
    const starts = [nowMs() - 5_000, nowMs() - 3_000];
    readers.forEach((reader, partition) => reader.seek?.({ start: starts[partition], emitted: 10 }));
    await Promise.all(readers.map((reader, partition) => reader.open(new RecordingContext(partition, 2))));
    try {
      for (const [partition, reader] of readers.entries()) {
        assert.deepEqual(reader.offset?.(), { start: starts[partition], emitted: 10 }, `partition ${partition} keeps its start`);
        const batch = reader.poll(1);
        assert.ok(batch);
        // Row index partition + 10 * 2 of the query, due 1 ms apart per row after this partition's start.
        assert.equal(batch.since, (starts[partition] as number) + partition + 20, `partition ${partition}'s next row is due on its own schedule`);
      }
    } finally {
      for (const reader of readers) await reader.close();
    }
  });

  it("rejects wrong options, naming the option, its value and what is allowed", () => {
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { rowsPerSecond: "fast" })), (error: Error) =>
      error instanceof ConfigError && /'rowsPerSecond'/.test(error.message) && /'fast'/.test(error.message) && /greater than 0/.test(error.message));
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { numPartitions: "1.5" })), /'numPartitions'.*'1.5'.*whole number/);
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { rampUpTime: "soon" })), /rampUpTime.*soon/);
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", { rowPerSecond: "5" })), /Unknown option 'rowPerSecond'.*Did you mean 'rowsPerSecond'\?/);
    assert.throws(() => new RateSourceProvider(sourceRequest("rate", {}, { schema: { fields: [] } })), /does not support a user-specified schema/);
  });

  it("reads option names case-insensitively, as Spark does", () => {
    const provider = new RateSourceProvider(sourceRequest("rate", { ROWSPERSECOND: "10", numpartitions: "3" }));
    assert.equal(provider.numPartitions, 3);
    assert.match(provider.description, /rowsPerSecond=10/);
  });
});
