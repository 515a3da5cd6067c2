// A struct field named __proto__: the analyser refuses a top-level column of that name, but a struct's field was set
// with `struct["__proto__"] = value` too, so named_struct('__proto__', id, 'x', 1) gave {x: 1} (the field lost without a
// word; an object value became the struct's prototype), and from_json with such a field in its DDL the same.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { AnalysisError, MemoryStream, z, type Session } from "../../src/index.ts";
import { inProcessSession } from "../helpers/session.ts";

describe("a struct field named __proto__", () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  const refused = (error: unknown): boolean => error instanceof AnalysisError && /`__proto__`/.test(error.message);

  it("start() fails naming it, in a projection's struct, a struct used inside a filter, and from_json's schema", async () => {
    session = inProcessSession();
    const input = new MemoryStream(session, z.object({ id: z.number().int(), j: z.string() }));
    const queries = [
      input.toDF().selectExpr("named_struct('__proto__', id, 'x', 1) as s"),
      input.toDF().selectExpr("named_struct('y', named_struct('__proto__', named_struct('z', id))) as s"),
      input.toDF().where("named_struct('__proto__', id, 'x', 1).x = 1"),
      input.toDF().selectExpr("from_json(j, 'struct<__proto__: int, x: int>') as s"),
      input.toDF().selectExpr("from_json(j, 'a array<struct<__proto__: int>>') as s"),
    ];
    for (const [index, df] of queries.entries()) {
      await assert.rejects(async () => df.writeStream.queryName(`proto_field_${index}`).format("memory").outputMode("append").start(), refused, `query ${index}`);
    }
    assert.deepStrictEqual(session.streams.active, []);
  });

  it("a field that only looks like it keeps its values", async () => {
    session = inProcessSession();
    const input = new MemoryStream(session, z.object({ id: z.number().int(), j: z.string() }));
    const query = await input.toDF().selectExpr("named_struct('__PROTO__', id, '__proto', 1) as s").writeStream.queryName("proto_field_like").format("memory").outputMode("append").start();
    input.addData([{ id: 7, j: "" }]);
    await query.processAllAvailable();
    assert.deepStrictEqual(session.table("proto_field_like").map((row) => ({ ...row })), [{ s: { __PROTO__: 7, __proto: 1 } }]);
  });
});
