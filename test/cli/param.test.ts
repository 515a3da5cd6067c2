// `rill param set|get|ls` against a real nats-server, with a running query that takes the change through its watch.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStream, z, type Row, type Session } from "../../src/index.ts";
import { useNatsServer } from "../helpers/nats.ts";
import { natsSession } from "../helpers/session.ts";
import { rill, type Finished } from "./run-cli.ts";

const server = useNatsServer();
const BUCKET = "cli_params";
const VALUES = [10, 35, 45, 55, 65];

function oneLine(result: Finished): string {
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got: ${result.stderr}`);
  return lines[0] as string;
}

describe("rill param", () => {
  let session: Session;
  let url: string;
  before(() => {
    const { user, pass } = server().options as { user: string; pass: string };
    url = server().url.replace("nats://", `nats://${user}:${pass}@`);
    session = natsSession(server().options, { "rill.params.bucket": BUCKET });
  });
  after(async () => {
    await session.stop();
  });

  it("sets a value a running query uses from its next epoch, and refuses a value of the wrong type in one line", { timeout: 120_000 }, async () => {
    session.params.declare("threshold", { type: "double", default: 30 });
    const input = new MemoryStream(session, z.object({ sensor: z.string(), value: z.number() }));
    const rows: Row[] = [];
    const query = await input.toDF().filter("value > param('threshold')").writeStream.foreachBatch((batch) => void rows.push(...batch)).start();
    input.addData(VALUES.map((value) => ({ sensor: "before", value })));
    await query.processAllAvailable();

    const set = await rill(["param", "set", "threshold", "50", "--nats", url, "--bucket", BUCKET]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^threshold = 50 \(revision \d+\); running queries use it from their next epoch\n$/);
    const deadline = Date.now() + 60_000;
    while (query.lastProgress?.parameters?.values.threshold !== 50) {
      assert.ok(Date.now() < deadline, "the query never took the value set on the command line");
      await query.processAllAvailable();
    }
    input.addData(VALUES.map((value) => ({ sensor: "after", value })));
    await query.processAllAvailable();
    const valuesOf = (sensor: string) => rows.filter((row) => row.sensor === sensor).map((row) => row.value);
    assert.deepEqual(valuesOf("before"), VALUES.filter((value) => value > 30));
    assert.deepEqual(valuesOf("after"), VALUES.filter((value) => value > 50));

    const wrong = await rill(["param", "set", "threshold", "hot", "--nats", url, "--bucket", BUCKET]);
    assert.equal(wrong.code, 2);
    assert.equal(oneLine(wrong), "rill: Parameter 'threshold' is declared double, and 'hot' is not a number.");
    await query.stop();
  });

  it("gets a value, its history, and lists every parameter", { timeout: 60_000 }, async () => {
    await session.params.set("unit", "C");
    const get = await rill(["param", "get", "unit", "--nats", url, "--bucket", BUCKET]);
    assert.equal(get.stdout, "\"C\"\n");
    const history = await rill(["param", "get", "threshold", "--history", "--nats", url, "--bucket", BUCKET]);
    assert.match(history.stdout, /revision \d+ {2}50\n$/);
    const list = await rill(["param", "ls", "--nats", url, "--bucket", BUCKET]);
    assert.match(list.stdout, /^threshold = 50 \(double\) {2}revision \d+ {2}\S+\nunit = "C" {2}revision \d+ {2}\S+\n$/);
    const missing = await rill(["param", "get", "nosuch", "--nats", url, "--bucket", BUCKET]);
    assert.equal(missing.code, 2);
    assert.match(oneLine(missing), /^rill: Parameter 'nosuch' has no value in NATS KV bucket 'cli_params' at nats:\/\/rill:\*\*\*@127\.0\.0\.1:\d+\. Set one with/);
  });

  it("says in one line that the server cannot be reached", { timeout: 60_000 }, async () => {
    const result = await rill(["param", "ls", "--nats", "nats://127.0.0.1:1", "--bucket", BUCKET]);
    assert.equal(result.code, 1);
    assert.match(oneLine(result), /^rill: Cannot reach NATS KV bucket 'cli_params' at nats:\/\/127\.0\.0\.1:1 within 5 s/);
  });
});
