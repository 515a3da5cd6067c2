// `rill bench`: runs the benchmark harness (bench/run.ts), which lives in a clone of the Rill repository, not in the package.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { QUERY_NODE_FLAGS } from "../core/node-flags.ts";
import { UsageError } from "./usage-error.ts";

export async function runBench(args: readonly string[]): Promise<number> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const harness = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
  if (!existsSync(harness)) throw new UsageError("rill bench runs the benchmark harness of a clone of the Rill repository (npm install && npm run bench there); the installed package does not ship it.");
  try {
    createRequire(harness).resolve("tsx");
  } catch (error) {
    throw new UsageError("rill bench needs tsx, a development dependency: run npm install in the repository first.", { cause: error });
  }
  // `--import tsx` resolves from the working directory: the repository's own tsx.
  const child = spawn(process.execPath, [...QUERY_NODE_FLAGS, "--import", "tsx", harness, ...args], { cwd: root, stdio: "inherit" });
  return await new Promise((done) => child.once("exit", (code, signal) => done(code ?? (signal ? 1 : 0))));
}

