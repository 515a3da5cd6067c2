// The V8 flags Rill starts its own processes with (src/core/node-flags.ts): the `rill` command, local workers, `rill bench`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { LATENCY_NODE_FLAGS, QUERY_HEAP_GROWING_FLAG, QUERY_NODE_FLAGS, QUERY_SEMI_SPACE_FLAG } from "../../src/core/node-flags.ts";
import { workerArguments } from "../../src/workers/local-workers.ts";

describe("Rill's node flags", () => {
  it("are accepted by this Node, and a process started with them has them", async () => {
    // An unknown V8 flag makes node exit with "bad option"; a known one shows in process.execArgv.
    const { stdout } = await promisify(execFile)(process.execPath, [...QUERY_NODE_FLAGS, "-e", "console.log(JSON.stringify(process.execArgv))"]);
    assert.deepEqual((JSON.parse(stdout) as string[]).slice(0, QUERY_NODE_FLAGS.length), [...QUERY_NODE_FLAGS]);
    assert.ok(LATENCY_NODE_FLAGS.includes("--no-concurrent-array-buffer-sweeping"), "a scavenge sweeps its ArrayBuffers itself (decision 55)");
  });

  it("let a query process's old generation grow to 3 times what a mark-compact kept, whatever rate V8 measures", async () => {
    // V8 prints the limit it sets after each mark-compact with --trace-gc-verbose: "[HeapController] Limit: old size:
    // N KB, new limit: M KB (factor)". Without the flag the factor is V8's own (4.0 at start-up, 1.1 in a query's steady
    // state, when marking is hundreds of times faster than promotion); with it, always 3.0.
    const { stdout } = await promisify(execFile)(process.execPath, [...QUERY_NODE_FLAGS, "--expose-gc", "--trace-gc-verbose", "-e", "globalThis.gc(); globalThis.gc();"]);
    const factors = [...stdout.matchAll(/\[HeapController\] Limit: old size: \d+ KB, new limit: \d+ KB \(([\d.]+)\)/g)].map((match) => Number(match[1]));
    assert.ok(factors.length >= 2, `no limit lines from V8 in:\n${stdout.slice(0, 2000)}`);
    assert.deepEqual(new Set(factors), new Set([3]), `${QUERY_HEAP_GROWING_FLAG}: limit factors ${factors.join(", ")}`);
  });

  it("come before the worker's entry script on a local worker's command line, from the sources and built", () => {
    const options = { job: "/tmp/job.ts", slots: 4, subjectPrefix: "rill", heartbeatIntervalMs: 500 };
    for (const built of [false, true]) {
      const args = workerArguments(options, "w1-1", built);
      const entry = args.findIndex((arg) => /cli\/worker\.[jt]s$/.test(arg));
      assert.ok(entry > 0, `no entry script in ${JSON.stringify(args)}`);
      for (const flag of QUERY_NODE_FLAGS) assert.ok(args.indexOf(flag) >= 0 && args.indexOf(flag) < entry, `${flag} must be a node flag, before the entry: ${JSON.stringify(args)}`);
    }
  });

  it("are on the rill command's shebang and in npm start; npm run bench has the query processes' young generation too", async () => {
    const shebang = (await readFile(new URL("../../src/cli/rill.ts", import.meta.url), "utf8")).split("\n")[0] as string;
    const scripts = (JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }).scripts;
    const start = scripts["start"] as string;
    const bench = (scripts["bench"] as string).split(" ");
    for (const flag of LATENCY_NODE_FLAGS) {
      assert.ok(shebang.split(" ").includes(flag), shebang);
      assert.ok(start.split(" ").includes(flag), start);
    }
    // The bench's flags come before its script, as node flags.
    for (const flag of QUERY_NODE_FLAGS) assert.ok(bench.indexOf(flag) > 0 && bench.indexOf(flag) < bench.indexOf("bench/run.ts"), `${flag} in npm run bench: ${bench.join(" ")}`);
    // The rill command keeps its own, smaller young generation (the demo's footprint), once.
    assert.ok(!shebang.includes(QUERY_SEMI_SPACE_FLAG) && shebang.split(" ").filter((flag) => flag.startsWith("--max-semi-space-size=")).length === 1, shebang);
  });
});
