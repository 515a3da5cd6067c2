// Read limits per trigger (maxFilesPerTrigger, maxOffsetsPerTrigger): availableNow reads everything in limited epochs, once ignores the limit,
// processAllAvailable() waits for everything.
import assert from "node:assert/strict";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { JetStreamAccess } from "../../src/actors/jetstream.ts";
import { z, type Session, type Trigger } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const readings = z.object({ id: z.number().int() });
const FILES = 6;

describe("file source read limits", () => {
  let session: Session;
  let root: string;
  let cases = 0;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 1 });
    root = await mkdtemp(join(tmpdir(), "rill-read-limits-"));
  });
  after(async () => {
    await session.stop();
    await rm(root, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  /** A folder of six files of two rows each, oldest first. */
  async function folder(): Promise<string> {
    const path = await mkdtemp(join(root, `case-${cases++}-`));
    for (let file = 0; file < FILES; file++) {
      const name = join(path, `${file}.json`);
      await writeFile(name, `{"id":${file * 2}}\n{"id":${file * 2 + 1}}\n`);
      await utimes(name, 1000 + file, 1000 + file);
    }
    return path;
  }

  async function run(name: string, trigger: Trigger | undefined): Promise<{ ids: number[]; epochRows: number[] }> {
    const input = session.readStream.schema(readings).option("maxFilesPerTrigger", 1).json(await folder());
    let writer = input.writeStream.queryName(name).format("memory").outputMode("append");
    if (trigger) writer = writer.trigger(trigger);
    const query = await writer.start();
    if (trigger && ("once" in trigger || "availableNow" in trigger)) assert.equal(await query.awaitTermination(60_000), true);
    else await query.processAllAvailable();
    const ids = session.table(name).map((row) => row.id as number).sort((a, b) => a - b);
    const epochRows = query.recentProgress.map((progress) => progress.numInputRows).filter((rows) => rows > 0);
    await query.stop();
    return { ids, epochRows };
  }

  const all = Array.from({ length: FILES * 2 }, (_, index) => index);

  it("availableNow reads every file, one file per epoch, then stops", async () => {
    const { ids, epochRows } = await run("available_now", { availableNow: true });
    assert.deepEqual(ids, all);
    assert.ok(epochRows.every((rows) => rows <= 2), `epochs read ${epochRows.join(", ")} rows: more than one file each`);
  });

  it("once ignores the read limit: one epoch with every file", async () => {
    const { ids, epochRows } = await run("once", { once: true });
    assert.deepEqual(ids, all);
    assert.deepEqual(epochRows, [FILES * 2]);
  });

  it("processAllAvailable() returns once every file has been processed, in micro-batches", async () => {
    const { ids, epochRows } = await run("process_all_micro", { processingTime: "1 hour" });
    assert.deepEqual(ids, all);
    assert.ok(epochRows.every((rows) => rows <= 2), `epochs read ${epochRows.join(", ")} rows: more than one file each`);
  });

  it("processAllAvailable() returns once every file has been processed, continuously", async () => {
    const { ids } = await run("process_all_continuous", undefined);
    assert.deepEqual(ids, all);
  });
});

describe("jetstream source read limits", () => {
  let session: Session;
  let transport: NatsTransport;
  let access: JetStreamAccess;
  let streams = 0;
  before(async () => {
    session = natsSession(server().options, { "rill.shuffle.partitions": 1 });
    transport = await NatsTransport.connect(server().options);
    access = transport.jetstream();
  });
  after(async () => {
    await session.stop();
    await transport.close();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  const MESSAGES = 50;
  const LIMIT = 10;

  async function run(name: string, trigger: Trigger | undefined): Promise<{ ids: number[]; epochRows: number[] }> {
    const stream = `LIMITS${streams++}`;
    await access.addStream({ name: stream, subjects: [`${stream.toLowerCase()}.>`], storage: "memory" });
    const encoder = new TextEncoder();
    for (let id = 0; id < MESSAGES; id++) await access.publish(`${stream.toLowerCase()}.x`, encoder.encode(JSON.stringify({ id })));
    const input = session.readStream.format("jetstream").option("stream", stream).option("maxOffsetsPerTrigger", LIMIT).schema(readings).load();
    let writer = input.writeStream.queryName(name).format("memory").outputMode("append");
    if (trigger) writer = writer.trigger(trigger);
    const query = await writer.start();
    if (trigger && ("once" in trigger || "availableNow" in trigger)) assert.equal(await query.awaitTermination(60_000), true);
    else await query.processAllAvailable();
    const ids = session.table(name).map((row) => row.id as number).sort((a, b) => a - b);
    const epochRows = query.recentProgress.map((progress) => progress.numInputRows).filter((rows) => rows > 0);
    await query.stop();
    return { ids, epochRows };
  }

  const all = Array.from({ length: MESSAGES }, (_, index) => index);

  it("availableNow reads every message, at most maxOffsetsPerTrigger per epoch, then stops", async () => {
    const { ids, epochRows } = await run("js_available_now", { availableNow: true });
    assert.deepEqual(ids, all);
    assert.ok(epochRows.every((rows) => rows <= LIMIT), `epochs read ${epochRows.join(", ")} rows`);
  });

  it("once ignores maxOffsetsPerTrigger: one epoch with every message", async () => {
    const { ids, epochRows } = await run("js_once", { once: true });
    assert.deepEqual(ids, all);
    assert.deepEqual(epochRows, [MESSAGES]);
  });

  it("processAllAvailable() returns once every message has been processed, in micro-batches", async () => {
    const { ids, epochRows } = await run("js_process_all", { processingTime: "1 hour" });
    assert.deepEqual(ids, all);
    assert.ok(epochRows.every((rows) => rows <= LIMIT), `epochs read ${epochRows.join(", ")} rows`);
  });
});
