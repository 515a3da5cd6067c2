// The activity generator (seeded, schema-valid, honouring its fractions) and the activity source format.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ACTIVITY_LABELS, ACTIVITY_MODELS, ActivityGenerator, ActivitySourceProvider, activitySchema, generateActivity, type ActivityRow } from "../../src/connectors/sources/activity.ts";
import { ConfigError } from "../../src/core/errors.ts";
import type { Row } from "../../src/core/types.ts";
import { RecordingContext, drain, sourceRequest } from "./helpers.ts";
import { jsonWithLongs } from "../../src/core/long.ts";

describe("generateActivity", () => {
  it("gives the same rows for the same seed and different rows for another", () => {
    const first = generateActivity({ count: 500, seed: 7, duplicateFraction: 0.05, outOfOrderFraction: 0.1 });
    assert.deepEqual(generateActivity({ count: 500, seed: 7, duplicateFraction: 0.05, outOfOrderFraction: 0.1 }), first);
    assert.notDeepEqual(generateActivity({ count: 500, seed: 8 }), first);
  });

  it("makes rows that pass activitySchema, with the real data's values", () => {
    const rows = generateActivity({ count: 5000, seed: 3 });
    for (const row of rows) assert.ok(activitySchema.safeParse(row).success, jsonWithLongs(row));
    for (const row of rows) {
      assert.ok((ACTIVITY_MODELS as readonly string[]).includes(row.Model));
      assert.ok(row.Device.startsWith(`${row.Model}_`), row.Device);
      assert.match(row.User, /^[a-i]$/);
      assert.ok(row.gt === null || (ACTIVITY_LABELS as readonly string[]).includes(row.gt));
      assert.equal(typeof row.Creation_Time, "bigint", "nanoseconds past 2^53 are exact");
      const creationMs = Number(row.Creation_Time / 1_000_000n);
      assert.ok(creationMs >= row.Arrival_Time - 1 && creationMs < row.Arrival_Time + 1, "Creation_Time is in nanoseconds, near the arrival");
    }
    assert.equal(rows[1]?.Arrival_Time, 1_700_000_000_001, "1000 rows per second from a fixed start by default");
    const labels = new Set(rows.map((row) => row.gt));
    assert.ok(labels.has(null) && labels.size >= 5, `labels seen: ${[...labels].join(", ")}`);
    const spikes = rows.filter((row) => Math.abs(row.x) > 4).length;
    assert.ok(spikes > 0 && spikes < 200, `${spikes} spikes in x`);
    const average = rows.reduce((sum, row) => sum + row.x, 0) / rows.length;
    assert.ok(Math.abs(average) < 0.2, `x averages ${average}`);
  });

  it("keeps Index a running index per device", () => {
    const rows = generateActivity({ count: 3000, seed: 5 });
    const last = new Map<string, number>();
    for (const row of rows) {
      assert.equal(row.Index, (last.get(row.Device) ?? -1) + 1, row.Device);
      last.set(row.Device, row.Index);
    }
  });

  it("honours duplicate, out-of-order and late fractions roughly", () => {
    const count = 20_000;
    const rows = generateActivity({ count, seed: 11, duplicateFraction: 0.1, outOfOrderFraction: 0.2, maxDelayMs: 3000, lateFraction: 0.05, lateDelayMs: 60_000 });
    const seen = new Set<string>();
    let duplicates = 0;
    for (const row of rows) {
      const key = jsonWithLongs(row);
      if (seen.has(key)) duplicates++;
      seen.add(key);
    }
    const fresh = [...seen].map((key) => JSON.parse(key) as ActivityRow);
    const delays = fresh.map((row) => row.Arrival_Time - Math.floor(Number(row.Creation_Time) / 1e6));
    const late = delays.filter((delay) => delay >= 60_000).length / fresh.length;
    const outOfOrder = delays.filter((delay) => delay > 0 && delay <= 3000).length / fresh.length;
    assert.ok(duplicates / count > 0.08 && duplicates / count < 0.12, `duplicates ${duplicates / count}`);
    assert.ok(outOfOrder > 0.17 && outOfOrder < 0.23, `out of order ${outOfOrder}`);
    assert.ok(late > 0.035 && late < 0.065, `late ${late}`);
    assert.ok(delays.every((delay) => delay >= 0 && delay < 120_000));
  });

  it("keeps no row it handed out, duplicates drawn from values equal to the rows they repeat", async () => {
    // A row the generator held (its duplicate history, the last 64 events) outlived two scavenges at rate and was
    // promoted: ARCHITECTURE.md, "The activity generator's duplicate history holds values, not rows".
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const generator = new ActivityGenerator({ seed: 5, duplicateFraction: 0.5 });
    const handedOut = (): Array<WeakRef<object>> => [new WeakRef(generator.next(1_700_000_000_000)), new WeakRef(generator.nextValues(1_700_000_000_001))];
    const refs = [...handedOut(), ...handedOut()];
    for (let index = 0; index < 8; index++) generator.next(1_700_000_000_002 + index);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.deepEqual(refs.map((ref) => ref.deref()), refs.map(() => undefined), "the generator holds none of the rows");
    const rows = generateActivity({ count: 2000, seed: 9, duplicateFraction: 0.2 });
    const duplicates = rows.filter((row, index) => rows.slice(Math.max(0, index - 64), index).some((earlier) => JSON.stringify(earlier, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) === JSON.stringify(row, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))));
    assert.ok(duplicates.length > 300, `duplicates repeat earlier rows exactly (${duplicates.length})`);
  });
});

describe("activity source", () => {
  it("generates totalRows rows open-loop, the same per partition for the same seed", async () => {
    const read = async (): Promise<Row[][]> => {
      const provider = new ActivitySourceProvider(sourceRequest("activity", { rowsPerSecond: "4000", numPartitions: "2", seed: "9", totalRows: "600" }));
      assert.equal(provider.numPartitions, 2);
      return await Promise.all([0, 1].map(async (partition) => {
        const reader = provider.createReader(partition);
        const context = new RecordingContext(partition, 2);
        await reader.open(context);
        await context.waitFor(() => reader.readyCount() >= 300, 20_000, `partition ${partition} to have its 300 rows`);
        const { rows, since } = drain(reader, 64);
        assert.equal(reader.readyCount(), 0);
        assert.ok(since.every((time, index) => index === 0 || time >= (since[index - 1] as number)));
        await reader.close();
        return rows;
      }));
    };
    const first = await read();
    assert.deepEqual(first.map((rows) => rows.length), [300, 300], "totalRows counts rows of the whole query");
    for (const rows of first) for (const row of rows) assert.ok(activitySchema.safeParse(row).success);
    const second = await read();
    const content = (row: Row) => ({ ...row, Arrival_Time: 0, Creation_Time: 0 });
    for (const partition of [0, 1]) assert.deepEqual(second[partition]?.map(content), first[partition]?.map(content), `partition ${partition}`);
    const indexes = new Set(first.flat().map((row) => `${String(row.Device)}#${String(row.Index)}`));
    assert.equal(indexes.size, 600, "Index stays unique per device across partitions");
  });

  it("validates its options when constructed", () => {
    assert.throws(() => new ActivitySourceProvider(sourceRequest("activity", { duplicateFraction: "0.9" })), (error: Error) =>
      error instanceof ConfigError && /'duplicateFraction'.*'0.9'.*at most 0.5/.test(error.message));
    assert.throws(() => new ActivitySourceProvider(sourceRequest("activity", { seed: "-1" })), /'seed'.*'-1'/);
    assert.throws(() => new ActivitySourceProvider(sourceRequest("activity", { lateFraction: "0.7", outOfOrderFraction: "0.5" })), /lateFraction/);
    assert.throws(() => new ActivitySourceProvider(sourceRequest("activity", { totalRow: "5" })), /Unknown option 'totalRow'.*Did you mean 'totalRows'\?/);
  });
});
