// A chaos child process: runs every chaos query in one session until it is killed (chaos) or has drained the input (final).
// Usage: node --import tsx child.ts <chaos|final> <base folder> <nats url>
// Prints on stdout, one a line: `started <query>`, `ready`, `progress <query> <epoch> <rows>`, `failed <query> <error>`,
// `drained <query>`, `done`; the engine adds `RILL_FAULT_POINT <point> <hit>` when RILL_CHAOS_PAUSE_AT is set.
import { Session, type StreamingQuery } from "../../../src/index.ts";
import { FLOW_WINDOW } from "./input.ts";
import { chaosWriter, QUERIES, type ChaosQuery } from "./queries.ts";

const [mode, base, natsUrl] = process.argv.slice(2) as ["chaos" | "final", string, string];
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
/** Restarts a failed query at most this often in the final run, so that a query that cannot recover ends the run. */
const FINAL_RESTARTS = 3;
/** Epochs in a row with no input that mean a query has read everything. */
const IDLE_EPOCHS = 3;

// A small flow window bounds the rows one turn holds, which makes the input's late rows late under any batching.
const session = Session.builder().appName("chaos").nats({ servers: natsUrl }).config("rill.shuffle.partitions", 2)
  .config("rill.flow.window", FLOW_WINDOW).config("rill.flow.maxFrameRows", FLOW_WINDOW / 2)
  .log((line) => process.stderr.write(`${line}\n`)).getOrCreate();
const running = new Map<string, StreamingQuery>();
// A harness that died (a test timeout) must not leave a child running queries forever: it goes with its parent.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();
let stopping = false;

session.streams.addListener({
  onQueryProgress: ({ progress }) => say(`progress ${progress.name ?? "?"} ${progress.batchId} ${progress.numInputRows}`),
  onQueryTerminated: (event) => {
    if (event.exception === null || stopping) return;
    say(`failed ${event.name ?? "?"} ${event.exception.replaceAll("\n", " ").slice(0, 400)}`);
    // A supervisor restarts a failed query on its checkpoint, as an operator would; the parent counts the failure.
    const query = QUERIES.find((candidate) => candidate.name === event.name);
    if (query && mode === "chaos") setTimeout(() => void supervise(query), 200);
  },
});

/** Starts the query, and again after a pause for as long as its start fails (the parent counts each failure). */
async function supervise(query: ChaosQuery): Promise<void> {
  for (;;) {
    try {
      await start(query);
      return;
    } catch (error) {
      say(`failed ${query.name} at start: ${String(error).replaceAll("\n", " ").slice(0, 400)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function start(query: ChaosQuery): Promise<StreamingQuery> {
  const started = await chaosWriter(session, base, query).start();
  running.set(query.name, started);
  say(`started ${query.name}`);
  return started;
}

/** Runs epochs until the query has seen no input for IDLE_EPOCHS requested epochs in a row. */
async function drain(query: ChaosQuery): Promise<void> {
  let restarts = 0;
  let current = await start(query);
  let idle = 0;
  while (idle < IDLE_EPOCHS) {
    try {
      await current.processAllAvailable();
      idle = current.lastProgress?.numInputRows === 0 ? idle + 1 : 0;
    } catch (error) {
      if (++restarts > FINAL_RESTARTS) throw error;
      await current.stop().catch(() => undefined);
      current = await start(query);
      idle = 0;
    }
  }
  say(`drained ${query.name}`);
}

if (mode === "chaos") {
  await Promise.all(QUERIES.map((query) => supervise(query)));
  say("ready");
  // Runs until the parent kills it.
  setInterval(() => undefined, 60_000);
} else {
  say("ready");
  const results = await Promise.allSettled(QUERIES.map((query) => drain(query)));
  results.forEach((result, index) => {
    if (result.status === "rejected") say(`failed ${QUERIES[index]?.name ?? "?"} ${String(result.reason).replaceAll("\n", " ").slice(0, 400)}`);
  });
  stopping = true;
  await session.stop();
  say("done");
  process.exit(0);
}
