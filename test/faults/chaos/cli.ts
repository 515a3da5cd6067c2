// `npm run chaos -- --kills 200 [--seed n] [--nats-restarts n] [--minutes m] [--keep]`: the long chaos run, with a summary of kills and checks.
import { parseArgs } from "node:util";
import { runChaos } from "./runner.ts";

const USAGE = "usage: npm run chaos -- [--kills n] [--seed n] [--nats-restarts n] [--rate rows/s] [--minutes m] [--keep]";

/** The options, or one line on stderr and exit code 2 for a wrong one (a dev tool, but still no stack trace). */
function options(): { kills: number; seed: number; natsRestarts: number | undefined; rate: number; minutes: number | undefined; keep: boolean } {
  const count = (name: string, text: string | undefined, positive: boolean): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) throw new Error(`--${name} must be a ${positive ? "positive" : "non-negative"} number, not '${text}'`);
    return value;
  };
  const { values } = parseArgs({
    options: {
      kills: { type: "string", default: "200" },
      seed: { type: "string" },
      "nats-restarts": { type: "string" },
      rate: { type: "string", default: "250" },
      minutes: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    kills: count("kills", values.kills, false) ?? 200,
    seed: count("seed", values.seed ?? process.env.RILL_CHAOS_SEED, false) ?? Date.now() % 1_000_000,
    natsRestarts: count("nats-restarts", values["nats-restarts"], false),
    rate: count("rate", values.rate, true) ?? 250,
    minutes: count("minutes", values.minutes, true),
    keep: values.keep,
  };
}

let parsed: ReturnType<typeof options>;
try {
  parsed = options();
} catch (error) {
  console.error(`chaos: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}
const { kills, seed, keep } = parsed;
const values = { minutes: parsed.minutes === undefined ? undefined : String(parsed.minutes), keep };
const report = await runChaos({
  seed,
  kills,
  natsRestarts: parsed.natsRestarts ?? Math.max(1, Math.round(kills / 40)),
  rowsPerKill: 600,
  rowsPerSecond: parsed.rate,
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
