// Watermark delays and window durations in the forms Spark accepts, checked where the query starts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigError, AnalysisError, MemoryStream, col, window, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const events = z.object({ user: z.string(), time: z.date() });

describe("durations in queries", () => {
  let session: Session;
  let queries = 0;
  before(() => {
    session = inProcessSession();
  });
  after(async () => {
    await session.stop();
  });

  async function explainOf(delay: string, size: string, slide?: string, start?: string): Promise<string> {
    const input = new MemoryStream(session, events);
    const query = await input.toDF().withWatermark("time", delay).groupBy(slide === undefined ? window(col("time"), size) : start === undefined ? window(col("time"), size, slide) : window(col("time"), size, slide, start)).count()
      .writeStream.queryName(`durations_${queries++}`).format("memory").outputMode("update").trigger({ processingTime: "1 hour" }).start();
    const text = query.explain();
    await query.stop();
    return text;
  }

  it("takes a watermark delay written as a SQL interval, and months as 31 days", async () => {
    assert.match(await explainOf("INTERVAL 2 HOURS 30 MINUTES", "10 minutes"), /time minus 9000000 ms/);
    assert.match(await explainOf("1 hour 30 minutes", "10 minutes"), /time minus 5400000 ms/);
    assert.match(await explainOf("1 month", "10 minutes"), new RegExp(`time minus ${31 * 86_400_000} ms`));
  });

  it("takes window durations written as intervals, and a negative start time", async () => {
    assert.match(await explainOf("0 seconds", "interval '3' day"), /window\(time, 259200000 ms\)/);
    assert.match(await explainOf("0 seconds", "INTERVAL 1 HOUR", "interval '30' minutes", "-10 minutes"), /window\(time, 3600000 ms, slide 1800000 ms\)/);
  });

  it("refuses a negative watermark delay, saying it is negative", async () => {
    await assert.rejects(explainOf("-10 minutes", "10 minutes"), (error: unknown) => error instanceof ConfigError && /withWatermark\("time", delay\): '-10 minutes' is negative/.test(error.message));
    await assert.rejects(explainOf("interval '-1' hour", "10 minutes"), /is negative/);
  });

  it("refuses what Spark's window() refuses, with its reasons", async () => {
    await assert.rejects(explainOf("0 seconds", "1 month"), (error: unknown) => error instanceof ConfigError && /windowDuration: '1 month' has months or years/.test(error.message));
    await assert.rejects(explainOf("0 seconds", "-10 minutes"), (error: unknown) => error instanceof AnalysisError && /window duration \(-600000 ms\) must be greater than 0/.test(error.message));
    await assert.rejects(explainOf("0 seconds", "10 minutes", "20 minutes"), /slide duration \(1200000 ms\) must be less than or equal to the window duration/);
    await assert.rejects(explainOf("0 seconds", "10 minutes", "5 minutes", "5 minutes"), /absolute value of the start time \(300000 ms\) must be less than the slide duration/);
  });
});
