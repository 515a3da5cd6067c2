// A forged ack that names a real source actor and carries an offset behind the committed one: the query fails with a
// SourceOffsetError naming the source and both offsets, and the forged offset never reaches a commit record.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { decodeControl, emptyStats, encodeControl } from "../../src/actors/control.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, SourceOffsetError, StreamingQueryError, type Session } from "../../src/index.ts";
import { CheckpointStorage } from "../../src/state/lmdb-storage.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ id: z.number().int() });
const SOURCE = "s0-source-memory.p0";

describe("a forged ack with a source offset behind the committed one", () => {
  let session: Session | undefined;
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-forged-offsets-"));
  });
  after(async () => {
    await session?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("fails the query with a SourceOffsetError naming the source and both offsets, and commits nothing of that epoch", async () => {
    session = natsSession(server().options, { "rill.flow.window": 64 });
    const checkpoint = join(folder, "checkpoint");
    // The sink waits on a gate: with it closed, the source runs out of credit before the barrier, so its real ack for
    // the epoch cannot leave before the forged one has reached the coordinator.
    let gateOpen = true;
    let openGate = (): void => undefined;
    const gate = (): Promise<void> | void => (gateOpen ? undefined : new Promise<void>((resolve) => (openGate = resolve)));
    const delivered: number[] = [];
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().writeStream.queryName("forged_offsets").option("checkpointLocation", checkpoint)
      .foreach(async (row) => {
        await gate();
        delivered.push(row.id as number);
      })
      .start();
    input.addData(Array.from({ length: 10 }, (_, id) => ({ id })));
    await query.processAllAvailable();
    assert.deepEqual(delivered, Array.from({ length: 10 }, (_, id) => id));

    const attacker = await NatsTransport.connect(server().options);
    const base = `rill.forged_offsets.${query.runId.slice(0, 8)}`;
    let forged = (): void => undefined;
    const forgedSent = new Promise<void>((resolve) => (forged = resolve));
    attacker.subscribe(`${base}._control`, (payload) => {
      const message = decodeControl(payload);
      if (message.type !== "barrier") return;
      attacker.publish(`${base}._coordinator`, encodeControl({ type: "ack", actor: SOURCE, epoch: message.epoch, stats: emptyStats(), sourceOffset: 0 }));
      void attacker.flush().then(forged);
    });
    await attacker.flush();
    gateOpen = false;
    input.addData(Array.from({ length: 1000 }, (_, index) => ({ id: 10 + index })));
    const pending = query.processAllAvailable().catch((error: unknown) => error);
    await forgedSent;
    gateOpen = true;
    openGate();

    await assert.rejects(query.awaitTermination(30_000), (error: unknown) => {
      assert.ok(error instanceof StreamingQueryError, String(error));
      assert.ok(error.cause instanceof SourceOffsetError, `the cause is typed: ${String(error.cause)}`);
      assert.equal(error.cause.source, SOURCE);
      assert.match(error.cause.message, new RegExp(`Source actor ${SOURCE.replaceAll(".", "\\.")} acked offset 0 for epoch \\d+, behind offset 10 of the epoch before`));
      return true;
    });
    await pending;
    await attacker.close();
    assert.equal(query.numRecoveries, 0, "a forged offset is not rolled back and retried: the query fails");
    assert.equal(query.isActive, false);

    const storage = CheckpointStorage.open(checkpoint);
    try {
      const last = storage.lastCommit();
      assert.deepEqual(last?.offsets, { [SOURCE]: 10 }, "the last commit is the one before the forged ack");
    } finally {
      await storage.close();
    }
  });
});
