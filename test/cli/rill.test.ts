// The `rill` command: --version and --help everywhere, one line and status 2 for a user's mistake, jobs and checkpoints.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { committedFiles } from "../../src/index.ts";
import { rill } from "./run-cli.ts";

// Each case starts a Node process: the suite as a whole may take longer than one test.
describe("rill", { timeout: 600_000 }, () => {
  let folder = "";
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-cli-"));
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("prints the package's version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    const { code, stdout } = await rill(["--version"]);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), version);
  });

  it("prints --help for itself and each command", async () => {
    const top = await rill(["--help"]);
    assert.equal(top.code, 0);
    for (const command of ["demo", "run", "inspect", "bench", "worker"]) assert.match(top.stdout, new RegExp(`^  ${command}\\b`, "m"));
    for (const command of ["demo", "run", "inspect", "bench", "worker"]) {
      const { code, stdout } = await rill([command, "--help"]);
      assert.equal(code, 0, command);
      assert.match(stdout, new RegExp(`^Usage: rill ${command}`), command);
    }
  });

  const mistakes: Array<[string, string[], RegExp]> = [
    ["an unknown flag", ["demo", "--bogus"], /^rill: unknown option '--bogus'$/],
    ["an unknown command", ["dmeo"], /^rill: unknown command 'dmeo' \(Did you mean demo\?\)$/],
    ["a rate that is not a number", ["demo", "--rate", "fast"], /^rill: option '--rate <n>' argument 'fast' is invalid\. --rate must be a whole number of at least 1\.$/],
    ["a duration in unknown units", ["demo", "--duration", "3 parsecs"], /^rill: option '--duration <time>' argument '3 parsecs' is invalid\. .*unknown time unit 'parsecs'/],
    ["an unknown transport", ["demo", "--transport", "carrier-pigeon"], /^rill: option '--transport <kind>' argument 'carrier-pigeon' is invalid\. Allowed choices are nats, inprocess\.$/],
    ["a missing job", ["run"], /^rill: missing required argument 'job'$/],
    ["a job file that does not exist", ["run", "no-such-job.mjs"], /^rill: No job file 'no-such-job\.mjs'\.$/],
    ["a SQL file that does not exist", ["run", "query.sql"], /^rill: No job file 'query\.sql'\.$/],
    ["a checkpoint that does not exist", ["inspect", "/nonexistent/checkpoint"], /^rill: No checkpoint at '\/nonexistent\/checkpoint'/],
  ];
  for (const [what, args, message] of mistakes) {
    it(`prints one line and exits with status 2 for ${what}`, async () => {
      const { code, stdout, stderr } = await rill(args);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0] ?? "", message);
    });
  }

  it("refuses a job that exports no function, and a job whose query is wrong, naming the fault", async () => {
    const empty = join(folder, "empty.mjs");
    await writeFile(empty, "export const answer = 42;\n");
    const none = await rill(["run", empty]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^rill: The job '.*empty\.mjs' exports no function/);
    const wrong = join(folder, "wrong.mjs");
    await writeFile(wrong, `export default async (session) => {
  await session.readStream.format("rate").load().select("nope").writeStream.format("memory").queryName("wrong").start();
};\n`);
    const failed = await rill(["run", wrong, "--transport", "inprocess"]);
    assert.equal(failed.code, 2, failed.stderr);
    assert.equal(failed.stderr.trimEnd().split("\n").length, 1, failed.stderr);
    assert.match(failed.stderr, /^rill: Column 'nope' does not exist/);
  });

  it("runs a job module with a checkpoint, and inspect prints the epochs it committed", async () => {
    const checkpoint = join(folder, "checkpoint");
    const job = join(folder, "job.mjs");
    await writeFile(job, `export default async function job(session) {
  const rows = session.readStream.format("rate").option("rowsPerSecond", 500).load();
  await rows.where("value % 2 = 0").writeStream.queryName("evens").format("memory")
    .option("checkpointLocation", ${JSON.stringify(checkpoint)}).trigger({ continuous: "200 milliseconds" }).start();
}\n`);
    const ran = await rill(["run", job, "--duration", "2 seconds"]);
    assert.equal(ran.code, 0, ran.stderr);
    const summary = /^evens: (\d+) records in, (\d+) epochs$/m.exec(ran.stdout);
    assert.ok(summary, ran.stdout);
    assert.ok(Number(summary[1]) > 0 && Number(summary[2]) > 1, ran.stdout);
    const inspected = await rill(["inspect", checkpoint, "--epochs", "1"]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /^query evens id /m);
    const committed = /^committed epochs: (\d+) \(0 \.\. (\d+)\)$/m.exec(inspected.stdout);
    assert.ok(committed, inspected.stdout);
    assert.equal(Number(committed[1]), Number(summary[2]), "every epoch the run reported is committed, the last one included");
    assert.equal((inspected.stdout.match(/^ {2}epoch \d+ at /gm) ?? []).length, 1);
  });

  it("runs a .sql pipeline file: its INSERT INTO writes exactly what plain code computes", async () => {
    const input = join(folder, "sql-input");
    await mkdir(input);
    const readings = Array.from({ length: 300 }, (_, index) => ({ device: `d${index % 5}`, celsius: (index * 37) % 45 }));
    for (let file = 0; file < 3; file++) await writeFile(join(input, `part-${file}.json`), readings.slice(file * 100, (file + 1) * 100).map((row) => JSON.stringify(row)).join("\n") + "\n");
    const output = join(folder, "sql-hot");
    const script = join(folder, "hot.sql");
    await writeFile(script, `CREATE TEMPORARY VIEW readings (device STRING, celsius DOUBLE) USING json OPTIONS (path '${input}');
CREATE TABLE hot USING json OPTIONS (path '${output}', checkpointLocation '${join(folder, "sql-checkpoint")}');
INSERT INTO hot SELECT device, celsius FROM readings WHERE celsius > 30;\n`);
    const ran = await rill(["run", script, "--duration", "4 seconds"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^hot: 300 records in, \d+ epochs$/m);
    const rows: Array<{ device: string; celsius: number }> = [];
    for (const file of await committedFiles(output)) for (const line of (await readFile(file, "utf8")).split("\n")) if (line) rows.push(JSON.parse(line) as { device: string; celsius: number });
    const key = (row: { device: string; celsius: number }): string => `${row.device}:${row.celsius}`;
    assert.deepEqual(rows.map(key).sort(), readings.filter((row) => row.celsius > 30).map(key).sort());
  });

  it("says where the benchmark harness lives, and how to start a worker", async () => {
    const bench = await rill(["bench", "--help"]);
    assert.equal(bench.code, 0);
    const worker = await rill(["worker"]);
    assert.equal(worker.code, 2);
    assert.match(worker.stderr, /^rill: usage: rill worker --job <module> --nats <url>/);
    assert.equal(worker.stderr.trimEnd().split("\n").length, 1, worker.stderr);
  });
});
