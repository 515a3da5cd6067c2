// An aggregation's actor with its input by position (positional input, named output), over real NATS: frames in the
// input order run by position, frames whose columns come in another order (or msgpack frames of named rows) run
// named, into the same groups; what leaves is the rows a named actor sends.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { decodeFrame, encodeFrame } from "../../src/actors/codec.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { OperatorActor } from "../../src/actors/operator-actor.ts";
import { ROW_KEY } from "../../src/actors/sink-actor.ts";
import { querySubjects } from "../../src/actors/subjects.ts";
import { systemClock } from "../../src/core/clock.ts";
import { FRAME_BARRIER, FRAME_DATA, type ChannelFrame, type Frame } from "../../src/core/frame.ts";
import type { Row } from "../../src/core/types.ts";
import { AggregateOperator } from "../../src/operators/aggregate.ts";
import { aggregatePositionalInput } from "../../src/operators/aggregate-positional.ts";
import type { PositionalChain } from "../../src/plan/positional-rows.ts";
import { useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();
const COLUMNS = ["k", "__rill_arg1"];

let transport: NatsTransport | undefined;
let actor: OperatorActor | undefined;
afterEach(async () => {
  await actor?.stop();
  await transport?.close();
  actor = undefined;
  transport = undefined;
});

let runs = 0;

/** An aggregation actor (count(*), sum(x) by k, update mode), by position or named; its output as the sink gets it. */
async function setUp(positional: boolean) {
  transport = await NatsTransport.connect(server().options);
  const subjects = querySubjects("rill", `posagg${runs++}`, "run00001");
  const operator = new AggregateOperator("s1.0-aggregate.p0", {
    groupingColumns: ["k"],
    hiddenKeyColumns: [],
    aggregates: [{ name: "c", function: "count", argument: undefined }, { name: "s", function: "sum", argument: (row: Row) => row.__rill_arg1 }],
    keyColumn: ROW_KEY,
    stateId: "aggregate-0",
    outputMode: "update",
    eventTime: undefined,
  });
  const input = aggregatePositionalInput({ groupingColumns: ["k"], hiddenKeyColumns: [], argumentColumns: [undefined, "__rill_arg1"], eventTime: undefined }, COLUMNS);
  const chain: PositionalChain = { inputColumns: COLUMNS, outputColumns: COLUMNS, exchangeIndexes: undefined, operators: [], namedFrom: { index: 0, input } };
  actor = new OperatorActor(
    { self: { index: 1, name: "s1-aggregate.p0" }, partition: 0, upstream: [{ index: 0, name: "s0-src.p0" }], downstream: [{ index: 2, name: "s2-sink.p0" }], routing: { kind: "forward" } },
    { transport, subjects, flow: { window: 100_000, maxFrameRows: 1024 }, storage: undefined, idleTimeoutMs: 60_000, lateDataSubject: undefined, clock: systemClock },
    [operator],
    positional ? chain : undefined,
  );
  const rows: Row[] = [];
  let barriers = 0;
  let wake: () => void = () => undefined;
  transport.subscribe(subjects.input("s2-sink.p0"), (payload) => {
    const frame = decodeFrame(payload) as ChannelFrame;
    if (frame.kind === FRAME_DATA) rows.push(...frame.rows);
    if (frame.kind === FRAME_BARRIER) barriers++;
    wake();
  });
  await transport.flush();
  actor.start();
  let seq = 0;
  const send = (frame: Frame | { kind: typeof FRAME_DATA; sender: number; seq: number; epoch: number; since: number; until: number; columns: readonly string[]; rows: unknown[][] }) => transport?.publish(subjects.input("s1-aggregate.p0"), encodeFrame(frame as Frame));
  return {
    actor,
    rows,
    sendRows: (data: Row[]) => send({ kind: FRAME_DATA, sender: 0, seq: ++seq, epoch: 1, since: 0, until: 0, rows: data }),
    sendArrays: (columns: readonly string[], data: unknown[][]) => send({ kind: FRAME_DATA, sender: 0, seq: ++seq, epoch: 1, since: 0, until: 0, columns, rows: data }),
    /** Ends the epoch and waits for its barrier to leave (after every row of the epoch). */
    barrier: async () => {
      const before = barriers;
      send({ kind: FRAME_BARRIER, sender: 0, seq: ++seq, epoch: 1, final: false });
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no barrier within 10 s")), 10_000).unref());
      await Promise.race([timeout, new Promise<void>((resolve) => {
        const check = () => (barriers > before ? resolve() : (wake = check));
        check();
      })]);
    },
  };
}

/** The same input both ways: in the input order, in another order, and as named rows of mixed key sets (msgpack). */
async function feed(run: Awaited<ReturnType<typeof setUp>>): Promise<void> {
  run.sendRows([{ k: "a", __rill_arg1: 1 }, { k: "b\u0000", __rill_arg1: 2 }, { k: null, __rill_arg1: null }, { k: "a", __rill_arg1: 10 }]);
  run.sendArrays(COLUMNS, [["a", 100], ["c", 2n ** 60n]]);
  // Another order: read by the input's places it would swap key and value.
  run.sendRows([{ __rill_arg1: 1000, k: "a" }, { __rill_arg1: 7, k: "b\u0000" }]);
  run.sendArrays(["__rill_arg1", "k"], [[5, "c"]]);
  // Rows of different key sets: a msgpack frame of named rows.
  run.sendRows([{ k: "a", __rill_arg1: 10_000 }, { __rill_arg1: 20, k: "d", extra: true }]);
  await run.barrier();
}

function table(rows: readonly Row[]): Record<string, unknown> {
  const latest: Record<string, unknown> = {};
  for (const row of rows) latest[String(row.k)] = [row.c, row.s, row[ROW_KEY]];
  return latest;
}

describe("an aggregation actor with its input by position", () => {
  it("runs frames in its input order by position and the others named, into the same groups: a named actor's output", async () => {
    const positional = await setUp(true);
    await feed(positional);
    assert.equal(positional.actor.positionalRows, 6, "the two frames in the input order");
    assert.equal(positional.actor.namedFallbackRows, 5, "the frames in another order and the msgpack one");
    const byPosition = table(positional.rows);
    await actor?.stop();
    await transport?.close();
    const named = await setUp(false);
    await feed(named);
    assert.equal(named.actor.positionalRows, 0);
    assert.deepStrictEqual(byPosition, table(named.rows));
    assert.deepStrictEqual(byPosition, {
      a: [5, 11_111, "sa"],
      "b\u0000": [2, 9, "sb\u0000"],
      null: [1, null, "\u0001"],
      c: [2, 2n ** 60n + 5n, "sc"],
      d: [1, 20, "sd"],
    });
  });
});
