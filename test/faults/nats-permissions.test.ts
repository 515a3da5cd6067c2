// A shared nats-server locked down as README "Security" says: only the `rill` user may publish on `rill.>`, so an
// outsider's forged control, ack (source offset) and credit frames are refused by the server and the query stays exact.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { emptyStats, encodeControl } from "../../src/actors/control.ts";
import { findNatsServer, freePort } from "../../src/actors/nats-server.ts";
import { MemoryStream, type NatsOptions, type Session } from "../../src/index.ts";
import { natsSession } from "../helpers/session.ts";

const schema = z.object({ user: z.string() });

/** The configuration README "Security" gives, with the test's passwords. */
function lockedDownConfig(rillPassword: string, outsiderPassword: string): string {
  return `authorization {
  users = [
    { user: rill, password: "${rillPassword}", permissions: {
        publish: { allow: ["rill.>", "_INBOX.>", "$JS.API.>", "$JS.ACK.>"] },
        subscribe: { allow: ["rill.>", "_INBOX.>"] } } },
    { user: outsider, password: "${outsiderPassword}", permissions: {
        publish: { deny: ["rill.>", "$JS.>"] },
        subscribe: { deny: ["rill.>"] } } }
  ]
}
`;
}

/** Starts nats-server with a configuration file; resolves once it reports it is ready. */
async function startConfigured(config: string, folder: string): Promise<{ url: string; child: ChildProcess }> {
  const binary = await findNatsServer();
  if (!binary) throw new Error("nats-server is not installed");
  const port = await freePort();
  const file = join(folder, "nats.conf");
  await writeFile(file, config, { mode: 0o600 });
  const child = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "-c", file], { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes("Server is ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`nats-server exited at start (code ${code}): ${stderr}`)));
  });
  return { url: `nats://127.0.0.1:${port}`, child };
}

/** Collects the permission violations the server reports to a connection, and resolves when `count` have arrived. */
function permissionViolations(connection: NatsConnection): { subjects: string[]; reached(count: number): Promise<void> } {
  const subjects: string[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  void (async () => {
    for await (const status of connection.status()) {
      if (status.type !== "error" || status.error.name !== "PermissionViolationError") continue;
      subjects.push((status.error as Error & { subject?: string }).subject ?? "");
      for (const waiter of waiters) if (subjects.length >= waiter.count) waiter.resolve();
    }
  })();
  return {
    subjects,
    reached: (count) => (subjects.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
  };
}

describe("a shared nats-server with Rill's permissions", () => {
  let folder: string;
  let server: { url: string; child: ChildProcess };
  let rill: NatsOptions;
  let outsider: NatsOptions;
  let session: Session | undefined;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-permissions-"));
    const rillPassword = randomBytes(18).toString("base64url");
    const outsiderPassword = randomBytes(18).toString("base64url");
    server = await startConfigured(lockedDownConfig(rillPassword, outsiderPassword), folder);
    rill = { servers: server.url, user: "rill", pass: rillPassword };
    outsider = { servers: server.url, user: "outsider", pass: outsiderPassword };
  });
  after(async () => {
    await session?.stop();
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await exited;
    await rm(folder, { recursive: true, force: true });
  });

  it("refuses an outsider's forged failed, ack and credit frames, and the query's result stays exact", async () => {
    session = natsSession(rill, { "rill.shuffle.partitions": 2 });
    const input = new MemoryStream(session, schema);
    const query = await input.toDF().groupBy("user").count().writeStream.queryName("guarded").format("memory").outputMode("complete").start();
    // A privileged watcher (the rill user) learns the run's subjects, as an attacker with a leaked subject list would.
    const watcher = await connect(rill);
    const base = `rill.guarded.${query.runId.slice(0, 8)}`;
    const subjects = new Set<string>();
    const watch = watcher.subscribe(`${base}.>`, { callback: (_error, message) => void subjects.add(message.subject) });
    await watcher.flush();
    input.addData([{ user: "a" }, { user: "b" }]);
    await query.processAllAvailable();
    watch.unsubscribe();
    await watcher.close();
    const actorSubjects = [...subjects].filter((subject) => !subject.slice(base.length + 1).startsWith("_") && !subject.endsWith(".credit"));
    assert.ok(actorSubjects.length > 0, `subjects seen: ${[...subjects].join(", ")}`);
    const actor = (actorSubjects[0] as string).slice(base.length + 1);

    const attacker = await connect(outsider);
    const violations = permissionViolations(attacker);
    const forged = [
      { subject: `${base}._coordinator`, payload: encodeControl({ type: "failed", actor, error: "forged", code: "FORGED" }) },
      { subject: `${base}._coordinator`, payload: encodeControl({ type: "ack", actor, epoch: 1, stats: emptyStats(), sourceOffset: 1_000_000 }) },
      { subject: `${base}._control`, payload: encodeControl({ type: "barrier", epoch: 99, final: true, readLimit: "all" }) },
      ...actorSubjects.map((subject) => ({ subject: `${subject}.credit`, payload: new Uint8Array([0x81, 0xa1, 0x6b, 0x01]) })),
    ];
    for (const { subject, payload } of forged) attacker.publish(subject, payload);
    await violations.reached(forged.length);
    assert.ok(violations.subjects.every((subject) => subject.startsWith(`${base}.`)), `violations: ${violations.subjects.join(", ")}`);
    await attacker.close();

    input.addData([{ user: "a" }, { user: "c" }]);
    await query.processAllAvailable();
    assert.equal(query.isActive, true);
    const counts = Object.fromEntries(session.table("guarded").map((row) => [row.user as string, row.count as number]));
    assert.deepEqual(counts, { a: 2, b: 1, c: 1 });
  });
});
