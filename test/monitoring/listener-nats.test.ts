// The NATS listener publishes every query event, in order, as JSON that another NATS client can read.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  ConfigError, MemoryStream, NatsQueryListener, Session, activitySchema, generateActivity, publishQueryEvents, type QueryEventMessage, type QueryTerminatedEvent,
} from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ONLY_REQUESTED_EPOCHS = { continuous: "1 hour" } as const;

interface Received {
  readonly subject: string;
  readonly message: QueryEventMessage;
}

/** Collects the messages on `subject` (wildcards allowed) and resolves `terminated` at the first termination message. */
async function watch(watcher: NatsConnection, subject: string) {
  const received: Received[] = [];
  let ended = (): void => undefined;
  const terminated = new Promise<void>((resolve) => (ended = resolve));
  const subscription = watcher.subscribe(subject, {
    callback: (error, message) => {
      assert.ifError(error);
      const event = message.json<QueryEventMessage>();
      received.push({ subject: message.subject, message: event });
      if (event.type === "terminated") ended();
    },
  });
  await watcher.flush();
  return { received, terminated, stop: () => subscription.unsubscribe() };
}

describe("the NATS query listener", () => {
  let session: Session;
  let watcher: NatsConnection;
  before(async () => {
    session = natsSession(server().options);
    watcher = await connect(server().options);
  });
  after(async () => {
    await watcher.close();
    await session.stop();
  });
  afterEach(async () => {
    for (const query of session.streams.active) await query.stop();
  });

  it("publishes started, progress, idle and terminated to rill.events.<query>.<type>, in order, with the query's figures", async () => {
    const listener = publishQueryEvents(session);
    const watched = await watch(watcher, "rill.events.watched.>");
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().where("x > 0").writeStream.queryName("watched").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    const rows = generateActivity({ seed: 21, count: 50 });
    input.addData(rows);
    await query.processAllAvailable();
    await query.processAllAvailable();
    const reports = query.recentProgress;
    await query.stop();
    await watched.terminated;
    watched.stop();
    session.streams.removeListener(listener);

    assert.deepEqual(watched.received.map((entry) => entry.subject), [
      "rill.events.watched.started", "rill.events.watched.progress", "rill.events.watched.progress", "rill.events.watched.idle", "rill.events.watched.terminated",
    ]);
    const messages = watched.received.map((entry) => entry.message);
    for (const message of messages) {
      assert.equal(message.id, query.id);
      assert.equal(message.runId, query.runId);
      assert.equal(message.name, "watched");
      assert.match(message.timestamp, ISO);
    }
    const [, first, second, idle, terminated] = messages;
    assert.equal(first?.progress?.batchId, 0);
    assert.equal(first?.progress?.numInputRows, rows.length);
    assert.equal(first?.progress?.sink.numOutputRows, rows.filter((row) => row.x > 0).length);
    assert.deepEqual(first?.progress, JSON.parse(JSON.stringify(reports[0])), "the message carries the whole progress report");
    assert.equal(second?.progress?.batchId, 1);
    assert.equal(second?.progress?.numInputRows, 0);
    assert.equal(idle?.timestamp, second?.progress?.timestamp, "the idle event belongs to the epoch without input");
    assert.equal(terminated?.exception, null);
    assert.equal(terminated?.errorClassOnException, null);
    assert.ok(listener.published >= 5);
  });

  it("publishes under a configured prefix, by id for an unnamed query, and carries a failure's message and class", async () => {
    const listener = new NatsQueryListener(session, { prefix: "ops.rill" });
    session.streams.addListener(listener);
    const watched = await watch(watcher, "ops.rill.>");
    const input = new MemoryStream(session, activitySchema);
    let seen = 0;
    const unnamed = await input.toDF().map((row) => {
      if (++seen === 3) throw new Error("boom at row 3");
      return row;
    }).writeStream.foreach(() => undefined).trigger(ONLY_REQUESTED_EPOCHS).start();
    input.addData(generateActivity({ seed: 22, count: 10 }));
    await assert.rejects(unnamed.awaitTermination(30_000), /boom at row 3/);
    await watched.terminated;
    watched.stop();
    session.streams.removeListener(listener);

    const types = watched.received.map((entry) => entry.message.type);
    assert.equal(types[0], "started");
    assert.equal(types[types.length - 1], "terminated");
    for (const { subject, message } of watched.received) assert.equal(subject, `ops.rill.${message.name ?? unnamed.id}.${message.type}`);
    const terminated = watched.received[watched.received.length - 1]?.message;
    assert.match(terminated?.exception ?? "", /boom at row 3/);
    assert.equal(terminated?.errorClassOnException, "USER_CODE");
  });

  it("refuses a prefix that is not a plain subject", () => {
    assert.throws(() => new NatsQueryListener(session, { prefix: "rill.>" }), (error: unknown) => error instanceof ConfigError && /'prefix' = 'rill\.>'/.test(error.message));
    assert.throws(() => new NatsQueryListener(session, { prefix: "rill..events" }), ConfigError);
  });
});

describe("the NATS query listener when the session stops with queries running", () => {
  it("delivers the last events before the session closes its transport, dropping none", async () => {
    const logged: string[] = [];
    const session = Session.builder().appName("rill-test").config("rill.transport", "inprocess").log((message) => void logged.push(message)).getOrCreate();
    let ended = (): void => undefined;
    const terminated = new Promise<void>((resolve) => (ended = resolve));
    const listener = new (class extends NatsQueryListener {
      override async onQueryTerminated(event: QueryTerminatedEvent): Promise<void> {
        await super.onQueryTerminated(event);
        ended();
      }
    })(session);
    session.streams.addListener(listener);
    const input = new MemoryStream(session, activitySchema);
    const query = await input.toDF().writeStream.queryName("cut_short").format("memory").trigger(ONLY_REQUESTED_EPOCHS).start();
    await query.processAllAvailable();
    await session.stop();
    await terminated;
    assert.equal(listener.dropped, 0, "session.stop() waits for the listeners before it closes the transport");
    assert.ok(listener.published >= 3, `started, progress and terminated were published: ${listener.published}`);
    assert.deepEqual(logged.filter((line) => line.includes("listener threw")), []);
  });
});
