// withColumnRenamed as in Spark: the column keeps its position, and renaming a column that does not exist is a no-op.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

const events = z.object({ user: z.string(), amount: z.number(), time: z.date() });

describe("withColumnRenamed", () => {
  let session: Session;
  before(() => {
    session = inProcessSession();
  });
  after(async () => {
    await session.stop();
  });

  it("keeps the renamed column in its position", () => {
    const renamed = new MemoryStream(session, events).toDF().withColumnRenamed("amount", "total");
    assert.deepEqual(renamed.schema.fields.map((field) => field.name), ["user", "total", "time"]);
  });

  it("is a no-op for a column that does not exist", () => {
    const frame = new MemoryStream(session, events).toDF();
    assert.deepEqual(frame.withColumnRenamed("missing", "user").schema, frame.schema);
    assert.deepEqual(frame.withColumnRenamed("missing", "other").columns, ["user", "amount", "time"]);
  });

  it("renames case-insensitively, and later steps see the new name only", async () => {
    const input = new MemoryStream(session, events);
    const renamed = input.toDF().withColumnRenamed("AMOUNT", "total");
    assert.deepEqual(renamed.columns, ["user", "total", "time"]);
    const query = await renamed.where("total > 1").select("user", "total").writeStream.queryName("renamed").format("memory").start();
    input.addData([{ user: "a", amount: 1, time: new Date(0) }, { user: "b", amount: 2, time: new Date(0) }]);
    await query.processAllAvailable();
    assert.deepEqual(session.table("renamed"), [{ user: "b", total: 2 }]);
    await query.stop();
    assert.throws(() => renamed.select("amount").schema, /Column 'amount' does not exist/);
  });
});
