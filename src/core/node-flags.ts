// V8 flags for the Node processes Rill starts itself: the `rill` command, local worker processes, the bench harness.
//
// --no-parallel-scavenge: a scavenge in a Rill process keeps little (20-50 KB of the 13 MB a scavenge sees in scenario
// (b) at 10k rows/s), so helper threads have nothing to share, and on a machine whose cores are busy (nats-server, the
// other actors' processes) the main thread waits for a helper that is not running. Measured: GC pause p99 1.7-3.2 ms
// with it against 4.6-7.0 ms without (README, "GC pauses in scenario (b)"; ARCHITECTURE.md, decision 47).
//
// --no-concurrent-array-buffer-sweeping: each scavenge otherwise wakes one of V8's worker threads, at its end, to free
// the young ArrayBuffers nobody holds (about 2 per NATS message: nats.js's `PUB` line, its flush, socket reads); on two
// busy cores that worker often takes the main thread's own core while the pause is still running. perf's scheduler
// trace of scenario (b) showed it in 216 of the 232 pauses between p80 and p95 (0.37 ms of work plus 0.39 ms of the
// worker's turn). Swept on the main thread instead, the cost is about 110 ns an ArrayBuffer in every pause.
// An embedder starts Node itself and passes the flags on its own command line (`node --no-parallel-scavenge
// --no-concurrent-array-buffer-sweeping app.js`).
export const LATENCY_NODE_FLAGS: readonly string[] = ["--no-parallel-scavenge", "--no-concurrent-array-buffer-sweeping"];

// --max-semi-space-size=8 (MB) for the processes that run queries at rate (local workers, the bench): half of V8's
// default 16 MB young generation halves the ArrayBuffers one pause sweeps (0.17 ms rather than 0.32 at 10k rows/s in
// scenario (b)), for twice as many scavenges. Together with the flags above: the part of a pause that the process
// makes itself (perf: the pause less the other processes' turns on its core) had a p99 under 1 ms in 7 of 13 runs,
// against 1 of 13 with --no-parallel-scavenge alone (README, "GC pauses in scenario (b)"; ARCHITECTURE.md, decision 55).
// The risk seen: 4 of those 13 runs had a mark-compact every 2 s or so (1 of 13 without); if real jobs show it, drop
// this flag and keep the sweeping one.
// The `rill` command keeps its own --max-semi-space-size=2 (its shebang) for the demo's memory footprint.
export const QUERY_SEMI_SPACE_FLAG = "--max-semi-space-size=8";
export const QUERY_NODE_FLAGS: readonly string[] = [...LATENCY_NODE_FLAGS, QUERY_SEMI_SPACE_FLAG];
