// The restart measurement on its own: `npx tsx bench/restart.ts [--rate 10000] [--seconds 3] [--repeat 3]`.
// Prints, per round, the in-process restarts and the new-process restart (spawn to first row and to first committed epoch).
import { parseArgs } from "node:util";
import { startNatsServer } from "../src/index.ts";
import type { RunContext } from "./e2e/point.ts";
import { measureRestarts } from "./e2e/restart.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "3" },
    repeat: { type: "string", default: "3" },
  },
});

const server = await startNatsServer({ jetstream: false });
const context: RunContext = { nats: server.options, seed: 42, numPartitions: 2, slackMs: 3000, log: () => undefined };
try {
  for (let round = 0; round < Number(values.repeat); round++) {
    const result = await measureRestarts(context, Number(values.rate), Number(values.seconds));
    console.log(JSON.stringify({ inProcess: result.inProcess, newProcess: result.newProcess, error: result.error }));
  }
} finally {
  await server.stop();
}
