// SQL JOIN of two streaming temp views: the stream-stream join of the DataFrame API, with its rules at start(),
// against plain code on a real nats-server.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { mulberry32 } from "../../src/connectors/sources/activity.ts";
import { AnalysisError, MemoryStream, z, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const MINUTE = 60_000;
const impressionSchema = z.object({ impressionId: z.number().int(), adId: z.number().int(), impressionTime: z.date() });
const clickSchema = z.object({ clickId: z.number().int(), adId: z.number().int(), clickTime: z.date() });
const JOIN = "FROM impressions i LEFT OUTER JOIN clicks c ON c.adId = i.adId AND c.clickTime >= i.impressionTime AND c.clickTime <= i.impressionTime + interval 30 minutes";

describe("SQL joins of two streams", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 2, "rill.watermark.idleTimeout": "10 minutes" });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("a LEFT OUTER JOIN with a time range on watermarked views equals plain code, unmatched impressions with null", async () => {
    const impressions = new MemoryStream(session, impressionSchema);
    const clicks = new MemoryStream(session, clickSchema);
    impressions.toDF().withWatermark("impressionTime", "20 minutes").createOrReplaceTempView("impressions");
    clicks.toDF().withWatermark("clickTime", "20 minutes").createOrReplaceTempView("clicks");
    const frame = session.sql(`SELECT i.impressionId, c.clickId, c.adId AS clickAd ${JOIN}`);
    assert.equal(frame.isStreaming, true);
    const query = await frame.writeStream.queryName("sql_ssjoin").format("memory").outputMode("append").start();
    const random = mulberry32(31);
    const rowsOf = (from: number) => Array.from({ length: 30 }, (_, index) => ({ id: from + index, ad: Math.floor(random() * 5), time: from * MINUTE + Math.floor(random() * 15 * MINUTE) }));
    const allImpressions: Array<{ id: number; ad: number; time: number }> = [];
    const allClicks: Array<{ id: number; ad: number; time: number }> = [];
    for (const from of [0, 100, 200]) {
      const i = rowsOf(from);
      const c = rowsOf(from + 50);
      allImpressions.push(...i);
      allClicks.push(...c.map((row) => ({ ...row, time: row.time - 50 * MINUTE })));
      impressions.addData(i.map((row) => ({ impressionId: row.id, adId: row.ad, impressionTime: new Date(row.time) })));
      clicks.addData(c.map((row) => ({ clickId: row.id, adId: row.ad, clickTime: new Date(row.time - 50 * MINUTE) })));
      await query.processAllAvailable();
    }
    // Far ahead, on an ad of its own: the watermark passes every earlier impression.
    impressions.addData([{ impressionId: 999, adId: -1, impressionTime: new Date(10_000 * MINUTE) }]);
    clicks.addData([{ clickId: 998, adId: -2, clickTime: new Date(10_000 * MINUTE) }]);
    await query.processAllAvailable();
    const expected: string[] = [];
    for (const i of allImpressions) {
      const found = allClicks.filter((c) => c.ad === i.ad && c.time >= i.time && c.time <= i.time + 30 * MINUTE);
      if (found.length === 0) expected.push(`${i.id}-null`);
      for (const c of found) expected.push(`${i.id}-${c.id}-${c.ad}`);
    }
    const actual = session.table("sql_ssjoin").map((row) => (row.clickId === null ? `${String(row.impressionId)}-null` : `${String(row.impressionId)}-${String(row.clickId)}-${String(row.clickAd)}`));
    assert.ok(expected.some((text) => text.endsWith("-null")) && expected.some((text) => !text.endsWith("-null")), "matched and unmatched impressions both occur");
    assert.deepEqual(actual.sort(), expected.sort());
  });

  it("plans the statement, and refuses at start() what Spark refuses, naming the join and the rule", async () => {
    new MemoryStream(session, impressionSchema).toDF().createOrReplaceTempView("impressions_nw");
    new MemoryStream(session, clickSchema).toDF().createOrReplaceTempView("clicks_nw");
    const outer = session.sql("SELECT * FROM impressions_nw i LEFT JOIN clicks_nw c ON c.adId = i.adId");
    await assert.rejects(outer.writeStream.queryName("sql_refused").format("memory").outputMode("append").start(), (error: unknown) => error instanceof AnalysisError && /^Stream-stream LeftOuter join between two streaming DataFrame\/Datasets is not supported without a watermark in the join keys/.test(error.message));
    const inner = session.sql("SELECT i.impressionId, c.clickId FROM impressions_nw i JOIN clicks_nw c USING (adId)");
    await assert.rejects(inner.writeStream.queryName("sql_refused_update").format("memory").outputMode("update").start(), (error: unknown) => error instanceof AnalysisError && /^Join between two streaming DataFrames\/Datasets is not supported in Update output mode/.test(error.message));
  });
});
