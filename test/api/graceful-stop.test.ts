// stop({ graceful: true }): one last epoch commits after every row the sources read, so a sink saw exactly what
// progress reports; the plain stop() stays Spark's (at once).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Session } from "../../src/index.ts";

describe("a graceful stop", () => {
  for (const transport of ["inprocess", "nats"] as const) {
    it(`ends with a committed epoch holding every row a foreach sink received (${transport})`, async () => {
      const session = Session.builder().appName("graceful").config("rill.transport", transport).getOrCreate();
      try {
        let received = 0;
        const query = await session.readStream.format("rate").option("rowsPerSecond", 5000).option("numPartitions", 2).load()
          .where("value % 3 = 0")
          .writeStream.queryName("graceful").trigger({ continuous: "100 milliseconds" })
          .foreach(() => {
            received++;
          })
          .start();
        await query.processAllAvailable();
        await query.processAllAvailable();
        await query.stop({ graceful: true });
        assert.equal(query.isActive, false);
        const progress = query.recentProgress;
        const output = progress.reduce((sum, item) => sum + item.sink.numOutputRows, 0);
        const input = progress.reduce((sum, item) => sum + item.numInputRows, 0);
        assert.ok(received > 0);
        assert.equal(received, output, "every row the sink received is in a committed epoch's progress");
        assert.equal(query.status.numInputRows, input);
        // The rate source's values are 0, 1, 2, ... per partition share: a third of them pass the filter.
        assert.ok(Math.abs(output - input / 3) <= 2, `${output} of ${input}`);
      } finally {
        await session.stop();
      }
    });
  }
});
