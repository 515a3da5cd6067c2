// `npm run chaos -- --kills 200 [--seed n] [--nats-restarts n] [--minutes m] [--keep]`: the long chaos run, with a summary of kills and checks.
import { parseArgs } from "node:util";
import { runChaos } from "./runner.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "200" },
    seed: { type: "string" },
    "nats-restarts": { type: "string" },
    rate: { type: "string", default: "250" },
    minutes: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const kills = Number(values.kills);
const seed = Number(values.seed ?? process.env.RILL_CHAOS_SEED ?? Date.now() % 1_000_000);
const report = await runChaos({
  seed,
  kills,
  natsRestarts: Number(values["nats-restarts"] ?? Math.max(1, Math.round(kills / 40))),
  rowsPerKill: 600,
  rowsPerSecond: Number(values.rate),
  finalTimeoutMs: 240_000,
  keepFolder: values.keep,
  ...(values.minutes === undefined ? {} : { budgetMs: Number(values.minutes) * 60_000 }),
  log: (line) => console.log(line),
});

const failed = report.checks.filter((check) => !check.ok);
console.log("");
for (const check of report.checks) console.log(`${check.ok ? "pass" : "FAIL"}  ${check.query}: ${check.check} (${check.detail})`);
console.log("");
console.log(`seed ${report.seed}: ${report.kills.total} SIGKILLs survived (${report.kills.running} while running, ${report.kills.startup} during start-up, ${report.kills.aimed} aimed: ${report.kills.aimedHit} at their point, ${report.kills.aimedMissed} at the fallback), ${report.natsRestarts} nats-server SIGKILL(s) and restart(s), ${report.rows} input rows`);
console.log(`checks: ${report.checks.length - failed.length} of ${report.checks.length} passed${failed.length > 0 ? `; rerun this schedule with RILL_CHAOS_SEED=${report.seed} npm run chaos -- --kills ${kills}${values.minutes === undefined ? "" : ` --minutes ${values.minutes}`}` : ""}; ${(report.durationMs / 1000).toFixed(0)} s${values.keep ? `; files kept in ${report.folder}` : ""}`);
process.exitCode = failed.length > 0 ? 1 : 0;
