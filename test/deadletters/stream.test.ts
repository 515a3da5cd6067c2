// Dead letters on a real nats-server: held until their epoch commits, then published into a JetStream stream with ids
// the epoch determines, so a letter nobody was listening for is kept, a SIGKILLed query publishes each letter once, and
// a full stream holds letters back (retried, reported) instead of dropping them. Without JetStream: core NATS, after the commit.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, afterEach, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { z } from "zod";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { MemoryStream, Session } from "../../src/index.ts";
import { childEnvironment, useNatsServer } from "../helpers/nats.ts";
import { committedLines, killSeed, runWithKills } from "../helpers/kill-runs.ts";
import { natsSession } from "../helpers/session.ts";

const server = useNatsServer();
const schema = z.object({ id: z.number().int(), s: z.string(), p: z.string() });
type Input = z.infer<typeof schema>;
const STREAM = "RILL_DEADLETTERS";
const INVALID_PATTERNS = ["(", "[a", "a{2,1}", "*a"];
const VALID_PATTERNS = ["a+", "^b", "c$", "x|y"];

interface Letter {
  readonly query: string;
  readonly source: string;
  readonly reason: string;
  readonly raw: string;
  readonly operator?: string;
  readonly epoch?: string;
}

/** Every letter `stream` holds on `subject`, waiting (a fetch, not a sleep) until there are at least `atLeast`. */
async function lettersIn(handle: NatsServerHandle, subject: string, atLeast: number, stream = STREAM): Promise<Letter[]> {
  const transport = await NatsTransport.connect(handle.options);
  try {
    const access = transport.jetstream();
    const info = await access.streamInfo(stream);
    assert.ok(info, `the stream ${stream} exists`);
    const cursor = await access.openCursor(stream, { startSequence: info.firstSequence || 1, filter: subject });
    const letters: Letter[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await cursor.fetch(100, 1000, (message) => letters.push(JSON.parse(new TextDecoder().decode(message.payload)) as Letter));
      if (letters.length >= atLeast && cursor.handedOut() >= (await cursor.end())) break;
    }
    await cursor.close();
    return letters;
  } finally {
    await transport.close();
  }
}

function rowsWithBadPatterns(count: number, seed: number): Input[] {
  let state = seed;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % bound;
  };
  return Array.from({ length: count }, (_, id) => {
    const patterns = next(6) === 0 ? INVALID_PATTERNS : VALID_PATTERNS;
    return { id, s: ["aaa", "bcd", "abc", "xy", "ccc"][next(5)] as string, p: patterns[next(patterns.length)] as string };
  });
}

describe("dead letters in a JetStream stream", () => {
  let session: Session | undefined;
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-deadletter-stream-"));
  });
  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  for (const checkpointed of [true, false]) {
    it(`keeps a letter that was published while nothing subscribed, once, with its reason (${checkpointed ? "held until the commit" : "no checkpoint: at once"})`, async () => {
      session = natsSession(server().options);
      const name = checkpointed ? "unheard_committed" : "unheard_now";
      const input = new MemoryStream(session, schema);
      let writer = input.toDF().selectExpr("id", "s rlike p as matched").writeStream.queryName(name).format("memory");
      if (checkpointed) writer = writer.option("checkpointLocation", join(folder, name));
      const query = await writer.start();
      const rows: unknown[] = [{ id: 1, s: "a", p: "a" }, { id: "two", s: "b", p: "b" }, { id: 3, s: "c", p: "(" }, { id: 4, s: "d", p: "d" }];
      input.addData(rows as Input[]);
      await query.processAllAvailable();
      assert.equal(query.status.numDeadLetters, 2);
      await query.stop();
      const status = query.status.deadLetterOutput;
      assert.deepEqual({ target: status.target, stream: status.stream, waiting: status.waiting, published: status.published }, { target: "jetstream", stream: STREAM, waiting: 0, published: 2 });
      const letters = await lettersIn(server(), `rill.${name}.deadletter`, 2);
      assert.equal(letters.length, 2, JSON.stringify(letters));
      const byRaw = new Map(letters.map((letter) => [letter.raw, letter]));
      assert.match(byRaw.get('{"id":"two","s":"b","p":"b"}')?.reason ?? "", /fails the schema: id: /);
      const operatorLetter = byRaw.get('{"id":3,"s":"c","p":"("}');
      assert.match(operatorLetter?.reason ?? "", /Invalid regular expression '\(' from the record/);
      assert.match(operatorLetter?.epoch ?? "", /^\d+$/);
      assert.ok(letters.every((letter) => letter.query === name));
    });
  }

  it("a static read's bad records go into the same stream, acknowledged before the action returns, with file, line and reason", async () => {
    session = natsSession(server().options);
    const files = join(folder, "static-json");
    await mkdir(files, { recursive: true });
    await writeFile(join(files, "part-0.json"), '{"id":1,"s":"a","p":"a"}\n{"id":2,"s":"b"\n{"id":"three","s":"c","p":"c"}\n{"id":4,"s":"d","p":"d"}\n');
    const rows = await session.read.schema(schema).json(files).collect();
    assert.deepEqual(rows.map((row) => row.id).sort(), [1, 4]);
    assert.equal(session.staticBadRecords.numDeadLetters, 2);
    // No subscriber was ever there: the stream holds both, and the action returned only after it had acknowledged them.
    const letters = await lettersIn(server(), session.staticDeadLetterSubject(), 2);
    assert.deepEqual(letters.map((letter) => letter.reason.replace(/^.*part-0\.json:(\d+):.*$/s, "line $1")).sort(), ["line 2", "line 3"], JSON.stringify(letters));
    assert.ok(letters.every((letter) => letter.query === "static"));
  });

  it("holds letters back while the stream is full, retried and reported, never dropped, and publishes them once there is room", async () => {
    const lines: string[] = [];
    let refused: () => void = () => undefined;
    const refusedOnce = new Promise<void>((resolve) => (refused = resolve));
    session = Session.builder().appName("rill-test").nats(server().options).config("rill.deadLetter.stream", "DL_SMALL").config("rill.deadLetter.maxMessages", 2)
      .log((line) => {
        lines.push(line);
        if (line.includes("refused a letter")) refused();
      }).getOrCreate();
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().selectExpr("id", "s rlike p as matched").writeStream.queryName("full_letters").format("memory")
      .option("deadLetterSubject", "letters.small").option("checkpointLocation", join(folder, "full")).start();
    input.addData([{ id: 1, s: "a", p: "(" }, { id: 2, s: "b", p: "[a" }, { id: 3, s: "c", p: "*a" }, { id: 4, s: "d", p: "d" }]);
    await query.processAllAvailable();
    await refusedOnce;
    const status = query.status.deadLetterOutput;
    assert.equal(status.stream, "DL_SMALL");
    assert.equal(status.waiting, 1, JSON.stringify(status));
    assert.ok(status.retries >= 1);
    assert.match(status.lastError ?? "", /maximum messages/i);
    assert.ok(lines.some((line) => line.includes("created the JetStream stream 'DL_SMALL'")), lines.join("\n"));
    assert.equal(query.isActive, true, "a full dead-letter stream does not fail the query");
    assert.equal(query.status.numDeadLetters, 3);
    const first = await lettersIn(server(), "letters.small", 2, "DL_SMALL");
    assert.equal(first.length, 2);
    // Room again: the letter held back goes out at its next attempt.
    const client = await connect({ servers: server().options.servers, user: server().options.user, pass: server().options.pass });
    try {
      await (await jetstreamManager(client)).streams.purge("DL_SMALL");
    } finally {
      await client.close();
    }
    const last = await lettersIn(server(), "letters.small", 1, "DL_SMALL");
    assert.equal(last.length, 1);
    assert.deepEqual([...first, ...last].map((letter) => (JSON.parse(letter.raw) as Input).id).sort(), [1, 2, 3]);
    await query.stop();
    assert.equal(query.status.deadLetterOutput.waiting, 0);
  });

  it("publishes each bad record once, with its reason, although the query is SIGKILLed several times", { timeout: 240_000 }, async () => {
    const output = join(folder, "kill-output");
    const checkpoint = join(folder, "kill-checkpoint");
    const rows = rowsWithBadPatterns(600, 5);
    // Some messages do not decode, some fail the schema: the source's letters; bad patterns are the filter's.
    const payloads = rows.map((row) => (row.id % 23 === 7 ? `{"id": ${row.id}, not json` : row.id % 29 === 11 ? JSON.stringify({ ...row, id: String(row.id) }) : JSON.stringify(row)));
    const kind = (row: Input): "json" | "schema" | "pattern" | undefined => (row.id % 23 === 7 ? "json" : row.id % 29 === 11 ? "schema" : INVALID_PATTERNS.includes(row.p) ? "pattern" : undefined);
    const transport = await NatsTransport.connect(server().options);
    try {
      const access = transport.jetstream();
      await access.addStream({ name: "DL_INPUT", subjects: ["dl.in"] });
      for (const payload of payloads) await access.publish("dl.in", new TextEncoder().encode(payload));
    } finally {
      await transport.close();
    }
    const script = fileURLToPath(new URL("./kill-child.ts", import.meta.url));
    // Aimed kills first: right after a commit record, before its letters are published; then after a batch of letters
    // was acked by the stream, before it left the checkpoint (the next run publishes it again, with the same ids).
    for (const point of ["after-commit:4", "deadletter-published:2"]) await killAt(script, [output, checkpoint], point);
    const seed = killSeed();
    let state = seed;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const runs = await runWithKills({ script, args: [output, checkpoint], env: childEnvironment(server()), killAfterEpochs: [2, 3, 4], random });
    assert.equal(runs.kills, 3, `seed ${seed}`);
    assert.ok(runs.midRunKills >= 2, `seed ${seed}: ${runs.midRunKills} kills came mid-run`);
    const bad = rows.filter((row) => kind(row) !== undefined);
    assert.ok(bad.filter((row) => kind(row) === "json").length > 5 && bad.filter((row) => kind(row) === "schema").length > 5 && bad.filter((row) => kind(row) === "pattern").length > 5);
    const letters = await lettersIn(server(), "rill.dl_kill.deadletter", bad.length);
    const ids = letters.map((letter) => Number(/"id":\s*"?(\d+)/.exec(letter.raw)?.[1]));
    assert.deepEqual([...ids].sort((a, b) => a - b), bad.map((row) => row.id), `seed ${seed}: each bad record exactly once`);
    for (const letter of letters) {
      const row = rows[Number(/"id":\s*"?(\d+)/.exec(letter.raw)?.[1])] as Input;
      const reason = { json: /^message \d+ of stream 'DL_INPUT' \(subject 'dl\.in'\) is not valid json/, schema: /^message \d+ of stream 'DL_INPUT' \(subject 'dl\.in'\) fails the schema: id: /, pattern: /Invalid regular expression/ }[kind(row) as "json"];
      assert.match(letter.reason, reason, `seed ${seed}: letter of row ${row.id}`);
    }
    // The rows that matched reached the sink exactly once too.
    const matched = (await committedLines(output)).map((line) => (JSON.parse(line) as { id: number }).id).sort((a, b) => a - b);
    assert.deepEqual(matched, rows.filter((row) => kind(row) === undefined && new RegExp(row.p).test(row.s)).map((row) => row.id), `seed ${seed}`);
  });
});

/** Runs the child until it stops at fault point `spec` (`<point>:<hit>`, src/core/fault-points.ts), and SIGKILLs it there. */
async function killAt(script: string, args: readonly string[], spec: string): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...childEnvironment(server()), RILL_CHAOS_PAUSE_AT: spec, RILL_CHAOS_PAUSE_MS: "60000" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes("RILL_FAULT_POINT")) child.kill("SIGKILL");
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const signal = await new Promise<string | null>((resolve) => child.once("exit", (_code, exitSignal) => resolve(exitSignal)));
  assert.match(stdout, new RegExp(`RILL_FAULT_POINT ${spec.replace(":", " ")}`), `the child reached ${spec} (stderr: ${stderr})`);
  assert.equal(signal, "SIGKILL");
}

describe("dead letters without JetStream", () => {
  let plain: NatsServerHandle | undefined;
  let session: Session | undefined;
  let folder: string;
  before(async () => {
    plain = await startNatsServer({ jetstream: false });
    folder = await mkdtemp(join(tmpdir(), "rill-deadletter-core-"));
  });
  after(async () => {
    await session?.stop();
    await plain?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("go out as core NATS messages after their epoch commits, and the status says so", async () => {
    const handle = plain as NatsServerHandle;
    const watcher = await NatsTransport.connect(handle.options);
    const letters: Letter[] = [];
    let arrived: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (arrived = resolve));
    watcher.subscribe("rill.core_letters.deadletter", (payload) => {
      letters.push(JSON.parse(new TextDecoder().decode(payload)) as Letter);
      if (letters.length === 2) arrived();
    });
    await watcher.flush();
    try {
      session = natsSession(handle.options);
      const input = new MemoryStream(session, schema);
      const query = await input.toDF().selectExpr("id", "s rlike p as matched").writeStream.queryName("core_letters").format("memory").option("checkpointLocation", join(folder, "core")).start();
      input.addData([{ id: 1, s: "a", p: "(" }, { id: 2, s: "b", p: "b" }, { id: 3, s: "c", p: "[a" }]);
      await query.processAllAvailable();
      await both;
      assert.deepEqual(letters.map((letter) => (JSON.parse(letter.raw) as Input).id).sort(), [1, 3]);
      assert.equal(query.status.deadLetterOutput.target, "core");
      assert.equal(query.status.numDeadLetters, 2);
    } finally {
      await watcher.close();
    }
  });
});
