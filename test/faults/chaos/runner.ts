// The chaos runner: publishes input, runs the child through the kill schedule (and nats-server through its restarts), then a final run, then the checks.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatsTransport } from "../../../src/actors/nats-transport.ts";
import { ChaosNatsServer } from "./nats.ts";

/** Where the queries' dead letters go: Rill's default stream (created by the first letter). */
const DEAD_LETTER_STREAM = "RILL_DEADLETTERS";
import { generateInput, InputPublisher, INPUT_STREAM, INPUT_SUBJECT, type InputRow } from "./input.ts";
import { readCheckpoint, readFileSink, readStream } from "./outputs.ts";
import { checkpointFolder, outputFolder, outputStream, outputSubject, QUERIES } from "./queries.ts";
import { describeStep, planSchedule, type KillKind, type KillStep } from "./schedule.ts";
import { checkpointProblems, verifyDeadLetters, verifyDedup, verifyFilter, verifyInput, verifyRunningTotals, verifyUpdates, verifyWindows, type Check } from "./verifier.ts";

const CHILD = join(import.meta.dirname, "child.ts");
/** Output streams remember msg ids this long: longer than any run, so the idempotent sinks' replays are always dropped. */
const DUPLICATE_WINDOW_MS = 3_600_000;
/** A child whose queries have not all completed an epoch by then is killed, and the cycle counts as a failure. */
const RECOVERY_TIMEOUT_MS = 120_000;

export interface ChaosOptions {
  readonly seed: number;
  readonly kills: number;
  readonly natsRestarts: number;
  /** Input rows published per kill of the schedule, at `rowsPerSecond`. */
  readonly rowsPerKill: number;
  readonly rowsPerSecond: number;
  /** How long the final run may take to drain every query. */
  readonly finalTimeoutMs: number;
  readonly log: (line: string) => void;
  /** Stop scheduling kills after this long (the final run and the checks still come): a long run that fits a slot. */
  readonly budgetMs?: number;
  /** Keep the run's folder (checkpoints, outputs, nats store) for inspection. */
  readonly keepFolder?: boolean;
}

export interface ChaosReport {
  readonly seed: number;
  readonly folder: string;
  readonly rows: number;
  /** SIGKILLs of the child, by kind; aimed kills that met their point, and those killed at the fallback instead. */
  readonly kills: Readonly<Record<KillKind, number>> & { readonly total: number; readonly aimedHit: number; readonly aimedMissed: number };
  readonly natsRestarts: number;
  readonly checks: readonly Check[];
  readonly durationMs: number;
}

interface Cycle {
  readonly killed: boolean;
  readonly aimedHit: boolean;
  readonly failures: readonly string[];
  readonly problem: string | undefined;
  /** From spawn to every query's first completed epoch (recovered), when it got there. */
  readonly recoveredMs?: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const startedAt = Date.now();
  const root = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const folder = await mkdtemp(join(root, `rill-chaos-${options.seed}-`));
  await mkdir(join(folder, "nats"));
  const nats = await ChaosNatsServer.start(join(folder, "nats"));
  let transport = await NatsTransport.connect({ servers: nats.url, name: "chaos-harness" });
  const access = () => transport.jetstream();
  const log = options.log;
  try {
    await access().addStream({ name: INPUT_STREAM, subjects: [INPUT_SUBJECT], duplicateWindowMs: DUPLICATE_WINDOW_MS });
    for (const query of QUERIES) {
      if (query.sink.format === "jetstream") await access().addStream({ name: outputStream(query), subjects: [outputSubject(query)], duplicateWindowMs: DUPLICATE_WINDOW_MS });
    }
    const schedule = planSchedule(options.seed, options.kills, options.natsRestarts, QUERIES.length);
    let generated = generateInput(options.seed, options.kills * options.rowsPerKill);
    const publisher = new InputPublisher(access, generated, options.rowsPerSecond);
    publisher.start();
    log(`chaos: seed ${options.seed}, ${options.kills} kills, ${options.natsRestarts} nats-server restart(s), ${generated.length} input rows at ${options.rowsPerSecond}/s, ${QUERIES.length} queries in ${folder}`);

    const kills = { running: 0, startup: 0, aimed: 0, total: 0, aimedHit: 0, aimedMissed: 0 };
    let natsRestarts = 0;
    const failures = new Map<string, string[]>();
    const crashes: string[] = [];
    const checkpointIssues = new Map<string, string[]>();
    const record = (cycle: Cycle, label: string) => {
      for (const line of cycle.failures) {
        const [name = "?", ...rest] = line.split(" ");
        failures.set(name, [...(failures.get(name) ?? []), `${label}: ${rest.join(" ")}`]);
      }
      if (cycle.problem) crashes.push(`${label}: ${cycle.problem}`);
    };
    for (const step of schedule) {
      if (options.budgetMs !== undefined && Date.now() - startedAt > options.budgetMs) {
        log(`chaos: time budget of ${Math.round(options.budgetMs / 1000)} s spent after ${step.index} kills; no more kills, and no input past what was let out`);
        generated = generated.slice(0, publisher.truncate());
        break;
      }
      publisher.allow((step.index + 1) * options.rowsPerKill);
      const cycleStart = Date.now();
      const cycle = await runCycle(step, folder, nats);
      if (step.natsRestart) natsRestarts++;
      if (cycle.killed) {
        kills.total++;
        kills[step.kind]++;
      }
      if (step.kind === "aimed" && cycle.aimedHit) kills.aimedHit++;
      else if (step.kind === "aimed") kills.aimedMissed++;
      record(cycle, `kill ${step.index} (${describeStep(step)})`);
      await inspectCheckpoints(folder, `after kill ${step.index} (${describeStep(step)})`, checkpointIssues);
      log(`chaos: kill ${step.index + 1}/${schedule.length} ${describeStep(step)}${step.kind === "aimed" ? (cycle.aimedHit ? " (hit)" : " (not reached)") : ""}; ${publisher.published} rows published; ${cycle.recoveredMs === undefined ? "killed before recovery" : `recovered in ${cycle.recoveredMs} ms`}, ${Date.now() - cycleStart} ms in all${cycle.failures.length > 0 ? `; ${cycle.failures.length} query failure(s)` : ""}`);
    }
    await publisher.done();
    log(`chaos: input complete (${generated.length} rows, ${publisher.retries} publish retries); final run`);
    const final = await runFinal(folder, nats.url, options.finalTimeoutMs);
    record(final.cycle, "final run");
    await inspectCheckpoints(folder, "after the final run", checkpointIssues);

    // A fresh connection: the harness's own may still be reconnecting after a restart.
    await transport.close();
    transport = await NatsTransport.connect({ servers: nats.url, name: "chaos-verifier" });
    // Bad messages (negative ids) are the dead letters' input; the queries' outputs come from the rows.
    const input = (await readStream(access(), INPUT_STREAM)).filter((row) => (row.id as number) >= 0).map((row): InputRow => ({ id: row.id as number, key: row.key as string, value: row.value as number, ts: Date.parse(row.ts as string), guid: row.guid as string, dup: row.dup as boolean, late: row.late as boolean }));
    const checks: Check[] = [verifyInput(generated, input)];
    const letters = publisher.badPublished.length > 0 ? await readStream(access(), DEAD_LETTER_STREAM) : [];
    checks.push({ query: "harness", check: "the child never died on its own", ok: crashes.length === 0, detail: crashes.length === 0 ? "no crash" : crashes.slice(0, 5).join("; ") });
    for (const query of QUERIES) {
      const output = query.sink.format === "files" ? await readFileSink(outputFolder(folder, query)) : undefined;
      const rows = output ? output.flatMap((file) => file.rows) : await readStream(access(), outputStream(query));
      if (query.kind === "filter") checks.push(...verifyFilter(query.name, input, rows));
      else if (query.kind === "aggregate") checks.push(...verifyUpdates(query.name, input, rows));
      else if (query.kind === "window") checks.push(...verifyWindows(query.name, input, output ?? [], publisher.sentAt, generated));
      else if (query.kind === "dedup") checks.push(...verifyDedup(query.name, input, rows));
      else checks.push(...verifyRunningTotals(query.name, input, rows));
      checks.push(verifyDeadLetters(query.name, publisher.badPublished, letters));
      const issues = checkpointIssues.get(query.name) ?? [];
      checks.push({ query: query.name, check: "checkpoint: epochs commit in order, no delta of a committed epoch outside the state", ok: issues.length === 0, detail: issues.length === 0 ? `inspected after each of ${kills.total + 1} runs` : `${issues.length} inspection(s) failed: ${issues.slice(0, 3).join("; ")}` });
      const failed = failures.get(query.name) ?? [];
      checks.push({ query: query.name, check: "never failed (no rollback gave up)", ok: failed.length === 0, detail: failed.length === 0 ? "no failure" : `${failed.length} failure(s): ${failed.slice(0, 3).join("; ")}` });
      const drained = final.drained.has(query.name);
      checks.push({ query: query.name, check: "the final run drained the input", ok: drained, detail: drained ? "drained" : final.cycle.problem ?? "no 'drained' line" });
    }
    return { seed: options.seed, folder, rows: generated.length, kills, natsRestarts, checks, durationMs: Date.now() - startedAt };
  } finally {
    await transport.close().catch((error: unknown) => log(`chaos: closing the harness connection: ${String(error)}`));
    await nats.stop();
    if (!options.keepFolder) await rm(folder, { recursive: true, force: true });
  }
}

async function inspectCheckpoints(folder: string, label: string, issues: Map<string, string[]>): Promise<void> {
  for (const query of QUERIES) {
    const facts = await readCheckpoint(checkpointFolder(folder, query));
    if (!facts) continue;
    for (const problem of checkpointProblems(facts)) issues.set(query.name, [...(issues.get(query.name) ?? []), `${label}: ${problem}`]);
  }
}

/** Lines of a child's stdout, one call per complete line. */
function onLines(stream: NodeJS.ReadableStream, handle: (line: string) => void): void {
  let buffered = "";
  stream.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      handle(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  });
}

function spawnChild(mode: "chaos" | "final", folder: string, url: string, pauseAt: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.RILL_CHAOS_PAUSE_AT;
  if (pauseAt) env.RILL_CHAOS_PAUSE_AT = pauseAt;
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode, folder, url], { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-3000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

/**
 * One child run, ended by SIGKILL as the step says. Running kills and the nats-server restart are timed from the
 * moment every query has completed an epoch in this process: a schedule that killed children before they
 * recovered would let the backlog grow until no first epoch completes, and test nothing after start-up.
 */
async function runCycle(step: KillStep, folder: string, nats: ChaosNatsServer): Promise<Cycle> {
  const { child, exited, stderr } = spawnChild("chaos", folder, nats.url, step.kind === "aimed" ? `${step.point ?? ""}:${step.hit ?? 1}` : undefined);
  const failures: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  const spawnedAt = Date.now();
  const progressed = new Set<string>();
  let recoveredMs: number | undefined;
  let aimedHit = false;
  let killedByUs = false;
  let neverRecovered = false;
  let natsCycle: Promise<void> = Promise.resolve();
  const kill = () => {
    killedByUs = true;
    child.kill("SIGKILL");
  };
  const after = (ms: number, action: () => void) => timers.push(setTimeout(action, ms));
  let started = 0;
  if (step.kind === "startup" && !step.afterStarted) after(step.delayMs, kill);
  after(RECOVERY_TIMEOUT_MS, () => {
    neverRecovered = true;
    kill();
  });
  const recovered = () => {
    recoveredMs = Date.now() - spawnedAt;
    if (step.kind === "startup") return;
    after(step.delayMs, kill);
    const restart = step.natsRestart;
    if (restart) {
      after(restart.afterMs, () => {
        natsCycle = (async () => {
          await nats.kill();
          await new Promise((resolve) => setTimeout(resolve, restart.downMs));
          await nats.restart();
        })();
      });
    }
  };
  onLines(child.stdout, (line) => {
    if (line.startsWith("RILL_FAULT_POINT ")) {
      aimedHit = true;
      kill();
    } else if (line.startsWith("failed ")) {
      failures.push(line.slice(7));
    } else if (line.startsWith("started ")) {
      if (++started === step.afterStarted && step.kind === "startup") after(step.delayMs, kill);
    } else if (line.startsWith("progress ") && recoveredMs === undefined) {
      progressed.add(line.split(" ")[1] ?? "");
      if (progressed.size === QUERIES.length) recovered();
    }
  });
  const { code, signal } = await exited;
  for (const timer of timers) clearTimeout(timer);
  await natsCycle;
  const killed = killedByUs && signal === "SIGKILL" && !neverRecovered;
  const problem = neverRecovered ? `the child's queries had not all completed an epoch ${RECOVERY_TIMEOUT_MS} ms after its start: ${stderr().trim().slice(-1500)}`
    : killed ? undefined : `the child exited by itself (code ${String(code)}, signal ${String(signal)}): ${stderr().trim().slice(-1500)}`;
  return { killed, aimedHit, failures, problem, ...(recoveredMs === undefined ? {} : { recoveredMs }) };
}

/** The child once more, unharmed, until every query has read all the input. */
async function runFinal(folder: string, url: string, timeoutMs: number): Promise<{ cycle: Cycle; drained: Set<string> }> {
  const { child, exited, stderr } = spawnChild("final", folder, url, undefined);
  const failures: string[] = [];
  const drained = new Set<string>();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  onLines(child.stdout, (line) => {
    if (line.startsWith("failed ")) failures.push(line.slice(7));
    else if (line.startsWith("drained ")) drained.add(line.slice(8));
  });
  const { code, signal } = await exited;
  clearTimeout(timer);
  const problem = timedOut ? `the final run did not finish within ${timeoutMs} ms: ${stderr().trim().slice(-1500)}`
    : code !== 0 ? `the final run exited with code ${String(code)}, signal ${String(signal)}: ${stderr().trim().slice(-1500)}` : undefined;
  return { cycle: { killed: false, aimedHit: false, failures, problem }, drained };
}
