// One measurement point on its own, for profiling: `node --cpu-prof --cpu-prof-dir=tmp/prof --import tsx bench/point.ts --scenario a --mode continuous-nats --rate 600000 --seconds 5`
// then `npx tsx bench/profile-summary.ts tmp/prof/<file>.cpuprofile`. Each result line ends with the run's GC pauses
// (bench/e2e/gc-monitor.ts: pause ms per second of run, p99 and longest pause).
import { parseArgs } from "node:util";
import { startNatsServer } from "../src/index.ts";
import { GcMonitor } from "./e2e/gc-monitor.ts";
import { modeById } from "./e2e/modes.ts";
import { runEnginePoint, type PointResult, type RunContext } from "./e2e/point.ts";
import { runRawPoint } from "./e2e/raw-nats.ts";
import { scenarioById } from "./e2e/scenarios.ts";

const { values } = parseArgs({
  options: {
    scenario: { type: "string", default: "a" },
    mode: { type: "string", default: "continuous-nats" },
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "5" },
    repeat: { type: "string", default: "1" },
  },
});

const server = await startNatsServer({ jetstream: false });
const context: RunContext = { nats: server.options, seed: 42, numPartitions: 2, slackMs: 3000, log: (message) => console.error(message) };
try {
  const mode = modeById(values.mode);
  const scenario = scenarioById(values.scenario);
  for (let round = 0; round < Number(values.repeat); round++) {
    const settings = { rate: Number(values.rate), seconds: Number(values.seconds) };
    const gc = new GcMonitor();
    const point: PointResult = mode.kind === "raw" ? await runRawPoint(context, mode, settings) : await runEnginePoint(context, mode, scenario, settings);
    console.log(JSON.stringify({ ...point, gc: gc.stop() }));
  }
} finally {
  await server.stop();
}
