// A real nats-server stopped and restarted in the middle of an epoch: the checkpointed query rolls back and its result is exact.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JetStreamAccess } from "../../src/actors/jetstream.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, Session, activitySchema, generateActivity, startNatsServer, type NatsServerHandle } from "../../src/index.ts";

const ROWS = generateActivity({ seed: 44, count: 6000 });
const decoder = new TextDecoder();

describe("nats-server restarted under a running query", () => {
  let server: NatsServerHandle;
  let folder: string;
  before(async () => {
    server = await startNatsServer();
    folder = await mkdtemp(join(tmpdir(), "rill-nats-restart-"));
  });
  after(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("counts every row once although frames in flight were lost with the server", async () => {
    const session = Session.builder().appName("restart").nats(server.options).config("rill.shuffle.partitions", 2).log(() => undefined).getOrCreate();
    try {
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().groupBy("User").count().writeStream.queryName("through_restart").format("memory").outputMode("complete")
        .option("checkpointLocation", join(folder, "checkpoint")).start();
      input.addData(ROWS.slice(0, 2000));
      await query.processAllAvailable();
      input.addData(ROWS.slice(2000));
      await server.stop({ keepStore: true });
      await server.restart();
      await query.processAllAvailable();
      const expected = new Map<string, number>();
      for (const row of ROWS) expected.set(row.User, (expected.get(row.User) ?? 0) + 1);
      const actual = new Map(session.table("through_restart").map((row): [string, number] => [row.User as string, row.count as number]));
      assert.deepEqual(new Map([...actual].sort()), new Map([...expected].sort()));
      assert.ok(query.numRecoveries >= 1, "the reconnect made the query roll back to its last committed epoch");
      assert.equal(query.isActive, true);
    } finally {
      await session.stop();
    }
  });

  it("publishes every row once into a JetStream sink although publishes were in flight when the server went down", async () => {
    const logged = new LogWatch();
    // The query gives up on the server after a second, so it rolls back while the server is still down.
    const session = Session.builder().appName("sink-restart").nats(server.options).config("rill.nats.unreachableTimeout", "1 second").log(logged.add).getOrCreate();
    const transport = await NatsTransport.connect(server.options);
    try {
      const access = transport.jetstream();
      await access.addStream({ name: "THROUGH", subjects: ["through"] });
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().select("Index", "User").writeStream.queryName("into_jetstream").format("jetstream").option("subject", "through")
        .option("checkpointLocation", join(folder, "sink-checkpoint")).start();
      input.addData(ROWS.slice(0, 2000));
      await query.processAllAvailable();
      // Down while the sink publishes the second part: some of its publishes are never acked.
      let seen = 0;
      const publishing = new Promise<void>((resolve) => {
        transport.subscribe("through", () => {
          if (++seen === 2100) resolve();
        });
      });
      input.addData(ROWS.slice(2000));
      await publishing;
      await server.stop({ keepStore: true });
      // Down until the query rolls back: the publishes the server took with it time out under the rollback.
      await logged.waitFor(/rolling back/);
      await server.restart();
      await query.processAllAvailable();
      const published = (await readAll(access, "THROUGH")).map((payload) => JSON.parse(payload) as { Index: number; User: string });
      const rowsOf = (rows: readonly { Index: number; User: string }[]) => rows.map((row) => `${row.User}:${row.Index}`).sort();
      assert.equal(published.length, ROWS.length, "no row lost, none repeated");
      assert.deepEqual(rowsOf(published), rowsOf(ROWS));
      assert.ok(query.numRecoveries >= 1, "the reconnect made the query roll back to its last committed epoch");
      assert.equal(query.isActive, true);
    } finally {
      await session.stop();
      await transport.close();
    }
  });

  it("publishes update-mode counts through a transactional JetStream sink: per user, never going back, ending at the true count", async () => {
    const logged = new LogWatch();
    const session = Session.builder().appName("counts-restart").nats(server.options).config("rill.nats.unreachableTimeout", "1 second").log(logged.add).getOrCreate();
    const transport = await NatsTransport.connect(server.options);
    try {
      const access = transport.jetstream();
      await access.addStream({ name: "COUNTS", subjects: ["counts"] });
      const input = new MemoryStream(session, activitySchema);
      const query = await input.toDF().groupBy("User").count().writeStream.queryName("counts_into_jetstream").outputMode("update")
        .format("jetstream").option("subject", "counts").option("mode", "transactional")
        .option("checkpointLocation", join(folder, "counts-checkpoint")).start();
      input.addData(ROWS.slice(0, 2000));
      await query.processAllAvailable();
      input.addData(ROWS.slice(2000, 4000));
      // Down in the middle of an epoch: the replay after the rollback cuts it into other frames.
      await server.stop({ keepStore: true });
      await logged.waitFor(/rolling back/);
      await server.restart();
      await query.processAllAvailable();
      input.addData(ROWS.slice(4000));
      await query.processAllAvailable();
      const expected = new Map<string, number>();
      for (const row of ROWS) expected.set(row.User, (expected.get(row.User) ?? 0) + 1);
      const last = new Map<string, number>();
      for (const payload of await readAll(access, "COUNTS")) {
        const { User, count } = JSON.parse(payload) as { User: string; count: number };
        assert.ok(count >= (last.get(User) ?? 0), `the count of ${User} went back from ${last.get(User)} to ${count}`);
        last.set(User, count);
      }
      assert.deepEqual(new Map([...last].sort()), new Map([...expected].sort()));
      assert.ok(query.numRecoveries >= 1);
    } finally {
      await session.stop();
      await transport.close();
    }
  });
});

/** The query's log lines; waitFor resolves at the first line that matches. */
class LogWatch {
  readonly lines: string[] = [];
  private readonly waiters: { pattern: RegExp; resolve: () => void }[] = [];

  readonly add = (line: string): void => {
    this.lines.push(line);
    for (const waiter of this.waiters.filter((candidate) => candidate.pattern.test(line))) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  waitFor(pattern: RegExp): Promise<void> {
    if (this.lines.some((line) => pattern.test(line))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}

/** Every payload of the stream, in order; requests fail until the client has reconnected and the server has recovered its streams. */
async function readAll(access: JetStreamAccess, stream: string): Promise<string[]> {
  const cursor = await access.openCursor(stream, { startSequence: 1 });
  const payloads: string[] = [];
  try {
    for (let end = await cursor.end(); cursor.handedOut() < end; end = await cursor.end()) {
      await cursor.fetch(end - cursor.handedOut(), 1000, (message) => payloads.push(decoder.decode(message.payload)));
    }
  } finally {
    await cursor.close();
  }
  return payloads;
}
