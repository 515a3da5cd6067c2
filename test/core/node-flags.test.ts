// The V8 flags Rill starts its own processes with (src/core/node-flags.ts): the `rill` command, local workers, `rill bench`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { LATENCY_NODE_FLAGS } from "../../src/core/node-flags.ts";
import { workerArguments } from "../../src/workers/local-workers.ts";

describe("Rill's node flags", () => {
  it("are accepted by this Node, and a process started with them has them", async () => {
    // An unknown V8 flag makes node exit with "bad option"; a known one shows in process.execArgv.
    const { stdout } = await promisify(execFile)(process.execPath, [...LATENCY_NODE_FLAGS, "-e", "console.log(JSON.stringify(process.execArgv))"]);
    assert.deepEqual((JSON.parse(stdout) as string[]).slice(0, LATENCY_NODE_FLAGS.length), [...LATENCY_NODE_FLAGS]);
  });

  it("come before the worker's entry script on a local worker's command line, from the sources and built", () => {
    const options = { job: "/tmp/job.ts", slots: 4, subjectPrefix: "rill", heartbeatIntervalMs: 500 };
    for (const built of [false, true]) {
      const args = workerArguments(options, "w1-1", built);
      const entry = args.findIndex((arg) => /cli\/worker\.[jt]s$/.test(arg));
      assert.ok(entry > 0, `no entry script in ${JSON.stringify(args)}`);
      for (const flag of LATENCY_NODE_FLAGS) assert.ok(args.indexOf(flag) >= 0 && args.indexOf(flag) < entry, `${flag} must be a node flag, before the entry: ${JSON.stringify(args)}`);
    }
  });

  it("are on the rill command's shebang and in npm start", async () => {
    const shebang = (await readFile(new URL("../../src/cli/rill.ts", import.meta.url), "utf8")).split("\n")[0] as string;
    const start = (JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts["start"] as string;
    for (const flag of LATENCY_NODE_FLAGS) {
      assert.ok(shebang.split(" ").includes(flag), shebang);
      assert.ok(start.split(" ").includes(flag), start);
    }
  });
});
