// The console, foreach, foreachBatch sinks, and the NATS sink's flushes, driven through the SinkWriter interface.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { ConsoleSinkProvider, showString } from "../../src/connectors/sinks/console.ts";
import { ForeachBatchSinkProvider } from "../../src/connectors/sinks/foreach-batch.ts";
import { ForeachSinkProvider } from "../../src/connectors/sinks/foreach.ts";
import { NatsSinkProvider } from "../../src/connectors/sinks/nats.ts";
import type { OutputMode, SinkWriter } from "../../src/connectors/sinks/sink.ts";
import { ConfigError, UserCodeError } from "../../src/core/errors.ts";
import type { Row } from "../../src/core/types.ts";
import { useTempFolder } from "../helpers/temp-folder.ts";
import { sinkRequest, sleep } from "./helpers.ts";

const BANNER = "-------------------------------------------";

async function opened(writer: SinkWriter, outputMode: OutputMode = "append"): Promise<SinkWriter> {
  await writer.open({ queryName: "test", queryId: "test", outputMode, orderReproducible: true, checkpointed: false, lastCommittedEpoch: -1 });
  return writer;
}

function consoleWriter(options: Record<string, string>, printed: string[], mode: OutputMode = "append"): Promise<SinkWriter> {
  return opened(new ConsoleSinkProvider(sinkRequest("console", options), (text) => printed.push(text)).createWriter(), mode);
}

describe("console sink", () => {
  it("prints the batch header and a right-aligned table as Spark's show()", async () => {
    const printed: string[] = [];
    const writer = await consoleWriter({}, printed);
    await writer.endEpoch?.(0, [{ name: "alice", count: 3 }, { name: "bob", count: 12 }, { name: null, count: 1e21 }]);
    assert.equal(printed.join(""), [
      BANNER, "Batch: 0", BANNER,
      "+-----+-----+",
      "| name|count|",
      "+-----+-----+",
      "|alice|    3|",
      "|  bob|   12|",
      "| null| 1E21|",
      "+-----+-----+",
      "", "",
    ].join("\n"));
  });

  it("shows numRows rows and cuts cells to 20 characters, or shows them whole and left-aligned", async () => {
    const rows = [{ text: "a".repeat(25), n: 1 }, { text: "short", n: 2 }, { text: "x", n: 3 }];
    const printed: string[] = [];
    const writer = await consoleWriter({ numRows: "2" }, printed);
    await writer.endEpoch?.(4, rows);
    assert.equal(printed.join(""), [
      BANNER, "Batch: 4", BANNER,
      "+--------------------+---+",
      "|                text|  n|",
      "+--------------------+---+",
      `|${"a".repeat(17)}...|  1|`,
      "|               short|  2|",
      "+--------------------+---+",
      "only showing top 2 rows",
      "", "",
    ].join("\n"));
    assert.equal(showString(rows.slice(0, 2), 20, false), [
      "+-------------------------+---+",
      "|text                     |n  |",
      "+-------------------------+---+",
      `|${"a".repeat(25)}|1  |`,
      "|short                    |2  |",
      "+-------------------------+---+",
      "",
    ].join("\n"));
  });

  it("formats structs, arrays and control characters without breaking the table", () => {
    assert.equal(showString([{ window: { start: 0, end: 10 }, tags: ["a", "b"], note: "x\ny" }]), [
      "+-------+------+----+",
      "| window|  tags|note|",
      "+-------+------+----+",
      "|{0, 10}|[a, b]|x\\ny|",
      "+-------+------+----+",
      "",
    ].join("\n"));
  });

  it("prints nothing for an empty epoch in append mode, and the (empty) result in complete mode", async () => {
    const appended: string[] = [];
    await (await consoleWriter({}, appended)).endEpoch?.(1, []);
    assert.deepEqual(appended, []);
    const completed: string[] = [];
    await (await consoleWriter({}, completed, "complete")).endEpoch?.(1, []);
    assert.equal(completed.join(""), `${BANNER}\nBatch: 1\n${BANNER}\n++\n||\n++\n++\n\n`);
  });

  it("validates numRows and truncate", () => {
    assert.throws(() => new ConsoleSinkProvider(sinkRequest("console", { numRows: "0" })), (error: Error) => error instanceof ConfigError && /'numRows'.*'0'.*at least 1/.test(error.message));
    assert.throws(() => new ConsoleSinkProvider(sinkRequest("console", { truncate: "20" })), /'truncate'.*'20'.*'true' or 'false'/);
    assert.throws(() => new ConsoleSinkProvider(sinkRequest("console", { numrow: "5" })), /Unknown option 'numrow'.*Did you mean 'numRows'\?/);
  });
});

describe("foreach sink", () => {
  it("calls the function per row in order, without a promise when the function is synchronous", async () => {
    const seen: unknown[] = [];
    const writer = await opened(new ForeachSinkProvider((row) => void seen.push(row.n)).createWriter());
    assert.equal(writer.write?.([{ n: 1 }, { n: 2 }]), undefined);
    assert.equal(writer.write?.([{ n: 3 }]), undefined);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it("awaits a returned promise before the next row, and holds write() until the last is done", async () => {
    const events: string[] = [];
    const writer = await opened(new ForeachSinkProvider(async (row) => {
      events.push(`start ${String(row.n)}`);
      await sleep(row.n === 1 ? 30 : 1);
      events.push(`end ${String(row.n)}`);
    }).createWriter());
    const pending = writer.write?.([{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.ok(pending instanceof Promise);
    await pending;
    assert.deepEqual(events, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]);
  });

  it("turns a throwing function into a UserCodeError naming the row", async () => {
    const writer = await opened(new ForeachSinkProvider((row) => {
      if (row.n === 2) throw new Error("boom");
    }).createWriter());
    assert.throws(() => writer.write?.([{ n: 1 }, { n: 2 }]), (error: Error) => error instanceof UserCodeError && /row \{"n":2\}: boom/.test(error.message));
    const asyncWriter = await opened(new ForeachSinkProvider(async () => {
      throw new Error("later");
    }).createWriter());
    await assert.rejects(async () => await asyncWriter.write?.([{ n: 9 }]), (error: Error) => error instanceof UserCodeError && /later/.test(error.message));
  });
});

describe("foreachBatch sink", () => {
  it("gets each epoch's rows and id, awaited, and no call for an empty epoch in append mode", async () => {
    const calls: Array<[Row[], number]> = [];
    let done = false;
    const writer = await opened(new ForeachBatchSinkProvider(async (rows, epochId) => {
      await sleep(5);
      calls.push([rows, epochId]);
      done = true;
    }).createWriter());
    assert.equal(writer.write, undefined, "a micro-batch sink sees rows only at epoch ends");
    await writer.endEpoch?.(7, [{ a: 1 }, { a: 2 }]);
    assert.ok(done, "endEpoch waits for the function");
    await writer.endEpoch?.(8, []);
    assert.deepEqual(calls, [[[{ a: 1 }, { a: 2 }], 7]]);
  });

  it("is called for empty epochs in complete mode, and wraps a failure in UserCodeError", async () => {
    const epochs: number[] = [];
    const writer = await opened(new ForeachBatchSinkProvider((_rows, epochId) => void epochs.push(epochId)).createWriter(), "complete");
    await writer.endEpoch?.(0, []);
    assert.deepEqual(epochs, [0]);
    const failing = await opened(new ForeachBatchSinkProvider(() => {
      throw new Error("db down");
    }).createWriter());
    await assert.rejects(async () => await failing.endEpoch?.(3, [{ a: 1 }]), (error: Error) => error instanceof UserCodeError && /epoch 3.*db down/.test(error.message));
  });

  const folder = useTempFolder("rill-foreach-batch-sink-");

  it("with a checkpoint location calls at the commit, and a restart calls a committed epoch not recorded as delivered again with the same rows", async () => {
    const calls: Array<[Row[], number]> = [];
    const provider = new ForeachBatchSinkProvider((rows, epochId) => void calls.push([rows, epochId]));
    const open = async (lastCommittedEpoch: number, number: number) => {
      const writer = provider.createWriter();
      await writer.open({ queryName: "test", queryId: "q-1", outputMode: "append", orderReproducible: true, checkpointed: true, lastCommittedEpoch, checkpointLocation: folder(), attempt: { runId: "0123456789abcdef", number } });
      return writer;
    };
    const first = await open(-1, 0);
    await first.endEpoch?.(0, [{ a: 0 }]);
    assert.deepEqual(calls, [], "nothing is called before the commit");
    await first.commitEpoch?.(0);
    await first.commitEpoch?.(0);
    assert.deepEqual(calls, [[[{ a: 0 }], 0]], "called once at the commit");
    // A crash: epoch 1 is committed but its call not recorded, epoch 2 only prepared.
    await first.endEpoch?.(1, [{ a: 1 }, { a: 2 }]);
    await first.endEpoch?.(2, [{ a: 3 }]);
    calls.length = 0;
    const second = await open(1, 1);
    assert.deepEqual(calls, [[[{ a: 1 }, { a: 2 }], 1]], "the committed epoch comes again with its rows; the uncommitted one and the delivered one do not");
    const sinkFolder = join(folder(), "sinks", "foreachBatch-q-1");
    assert.deepEqual((await readdir(sinkFolder)).filter((name) => name.endsWith(".msgpack")), [], "every preparation is gone: delivered or discarded");
    assert.deepEqual(JSON.parse(await readFile(join(sinkFolder, "_delivered.json"), "utf8")), { epoch: 1 });
    await second.close();
  });
});

describe("nats sink flushes", () => {
  it("awaits a flush every 1000 rows and at each epoch's end, so a slow broker slows the query", async () => {
    let flushes = 0;
    let published = 0;
    const transport = new InProcessTransport();
    transport.publish = () => void published++;
    transport.flush = async () => void flushes++;
    const writer = await opened(new NatsSinkProvider(sinkRequest("nats", { subject: "out" }, transport)).createWriter());
    const rows = Array.from({ length: 600 }, (_, index) => ({ index }));
    assert.equal(writer.write?.(rows), undefined, "below 1000 rows nothing waits");
    const second = writer.write?.(rows);
    assert.ok(second instanceof Promise, "past 1000 rows write() waits for the broker");
    await second;
    await writer.endEpoch?.(0, []);
    assert.equal(published, 1200);
    assert.equal(flushes, 2);
  });
});
