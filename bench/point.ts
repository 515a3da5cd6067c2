// One measurement point on its own, for profiling: `node --cpu-prof --cpu-prof-dir=tmp/prof --import tsx bench/point.ts --scenario a --mode continuous-nats --rate 600000 --seconds 5`
// then `npx tsx bench/profile-summary.ts tmp/prof/<file>.cpuprofile`. Each result line ends with the run's GC pauses
// (bench/e2e/gc-monitor.ts: `gc` from the query's start to its last row, `gcWholePoint` including start-up and the check).
// RILL_TRACE_HOPS=1 adds where each frame's rows were how long after they were due (src/actors/hop-trace.ts).
// --gc-warmup <s>: `gc.steady` gives the pauses from that long after the query's start on as well.
// --wake timer|precise|spin: how the activity source's readers wait for a row (its `wake` option; default precise).
import { parseArgs } from "node:util";
import { hopTrace } from "../src/actors/hop-trace.ts";
import type { WakeMode } from "../src/connectors/sources/open-loop.ts";
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
    wake: { type: "string", default: "precise" },
    "gc-warmup": { type: "string", default: "0" },
  },
});

const server = await startNatsServer({ jetstream: false });
const context: RunContext = { nats: server.options, seed: 42, numPartitions: 2, slackMs: 3000, wake: values.wake as WakeMode, log: (message) => console.error(message) };
try {
  const mode = modeById(values.mode);
  const scenario = scenarioById(values.scenario);
  for (let round = 0; round < Number(values.repeat); round++) {
    const settings = { rate: Number(values.rate), seconds: Number(values.seconds), gcWarmupMs: Number(values["gc-warmup"]) * 1000 };
    const gc = new GcMonitor();
    hopTrace?.reset();
    const point: PointResult = mode.kind === "raw" ? await runRawPoint(context, mode, settings) : await runEnginePoint(context, mode, scenario, settings);
    console.log(JSON.stringify({ ...point, gcWholePoint: gc.stop() }));
    if (hopTrace) printHops(hopTrace.figures());
  }
} finally {
  await server.stop();
}

/** RILL_TRACE_HOPS=1: how long ago each frame's rows were due when it reached each point of its path (ms, per row). */
function printHops(figures: ReturnType<NonNullable<typeof hopTrace>["figures"]>): void {
  const width = Math.max(...figures.map((figure) => figure.point.length));
  console.log(`${"point".padEnd(width)}  ${"frames".padStart(7)}  ${"rows/fr".padStart(7)}  ${"p50".padStart(8)}  ${"p99".padStart(8)}  ${"p999".padStart(8)}`);
  for (const figure of figures) {
    console.log(`${figure.point.padEnd(width)}  ${String(figure.frames).padStart(7)}  ${figure.rowsPerFrame.toFixed(2).padStart(7)}  ${figure.p50.toFixed(3).padStart(8)}  ${figure.p99.toFixed(3).padStart(8)}  ${figure.p999.toFixed(3).padStart(8)}`);
  }
}
