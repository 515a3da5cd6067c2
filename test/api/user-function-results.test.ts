// A user function that returns the wrong shape (not iterable, not a row) fails the query as the user's error, not Rill's.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { MemoryStream, z, type DataFrame, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const events = z.object({ user: z.string(), amount: z.number() });
const out = z.object({ user: z.string() });

describe("user function results", () => {
  let session: Session;
  before(() => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 1 });
  });
  after(async () => {
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  /** Runs the query on one row and returns the code and message of the failure it ends with. */
  async function failureOf(name: string, build: (input: DataFrame) => DataFrame, outputMode: "append" | "update" = "append"): Promise<{ code: unknown; message: string }> {
    const input = new MemoryStream(session, events);
    const query = await build(input.toDF()).writeStream.queryName(name).format("memory").outputMode(outputMode).start();
    input.addData([{ user: "a", amount: 1 }]);
    await assert.rejects(query.processAllAvailable());
    const failure = query.exception();
    assert.ok(failure, "the query failed");
    return { code: (failure.cause as { code?: unknown }).code, message: failure.message };
  }

  it("flatMap returning a number is a user-code error naming the operator", async () => {
    const { code, message } = await failureOf("flat_number", (input) => input.flatMap(() => 5 as unknown as Row[], out));
    assert.equal(code, "USER_CODE");
    assert.match(message, /flatMap.*returned the number 5, which is not iterable/);
  });

  it("flatMap yielding something that is not a row is a user-code error", async () => {
    const { code, message } = await failureOf("flat_strings", (input) => input.flatMap(() => ["a"] as unknown as Row[], out));
    assert.equal(code, "USER_CODE");
    assert.match(message, /returned the string "a" where a row/);
  });

  it("a flatMap generator that throws while yielding is a user-code error", async () => {
    const { code } = await failureOf("flat_generator", (input) => input.flatMap(function* () {
      yield { user: "x" };
      throw new Error("boom");
    }, out));
    assert.equal(code, "USER_CODE");
  });

  it("map returning undefined is a user-code error", async () => {
    const { code, message } = await failureOf("map_undefined", (input) => input.map(() => undefined as unknown as Row, out));
    assert.equal(code, "USER_CODE");
    assert.match(message, /returned undefined where a row/);
  });

  it("flatMapGroupsWithState returning null is a user-code error naming the key", async () => {
    const { code, message } = await failureOf("groups_null", (input) => input.groupByKey((row) => row.user)
      .flatMapGroupsWithState("append", () => null as unknown as Row[], { outputSchema: out }));
    assert.equal(code, "USER_CODE");
    assert.match(message, /for key 'a', returned null, which is not iterable/);
  });
});
