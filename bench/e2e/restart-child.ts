// The crash restart's process: starts the restart query on an existing checkpoint, streams its rows as JSON lines,
// and stops when told to on stdin. Run by restart.ts as `node --import tsx restart-child.ts '<options JSON>'`.
const scriptStart = performance.timeOrigin + performance.now();
const { restartSession, startRestartQuery } = await import("./restart-query.ts");
const importsDone = performance.timeOrigin + performance.now();
const now = () => performance.timeOrigin + performance.now();

const options = JSON.parse(process.argv[2] ?? "{}") as import("./restart-query.ts").RestartQueryOptions;
const session = restartSession(options, (message) => process.stderr.write(`${message}\n`));
let firstRow: number | undefined;
let firstCommit: number | undefined;
let committed = (): void => undefined;
const firstCommitted = new Promise<void>((resolve) => (committed = resolve));
// The first progress event is the first epoch the new process committed: recovery is complete and durable.
session.streams.addListener({
  onQueryProgress: () => {
    firstCommit ??= now();
    committed();
  },
});
const startCalled = now();
const query = await startRestartQuery(session, options, (row) => {
  firstRow ??= now();
  process.stdout.write(`${JSON.stringify({ event: "row", gt: row.gt, count: row.count })}\n`);
});
const startResolved = now();
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text: string) => {
  if (!text.includes("stop")) return;
  void (async () => {
    await firstCommitted;
    await query.stop();
    await session.stop();
    const timings = { processStart: performance.timeOrigin, scriptStart, importsDone, startCalled, startResolved, firstRow, firstCommit };
    process.stdout.write(`${JSON.stringify({ event: "timings", ...timings })}\n`);
    process.exit(0);
  })();
});
