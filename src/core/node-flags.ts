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
// The risk seen: 4 of those 13 runs had a mark-compact every 2 s or so (1 of 13 without); that was V8's steady-state
// heap growing factor, which any long run reaches whatever the semi-space (QUERY_HEAP_GROWING_FLAG below).
// The `rill` command keeps its own --max-semi-space-size=2 (its shebang) for the demo's memory footprint.
export const QUERY_SEMI_SPACE_FLAG = "--max-semi-space-size=8";

// --heap-growing-percent=200: after a mark-compact the old generation may grow to 3 times what it kept before the next
// one. V8 picks that factor from its marking speed against the old generation's allocation rate: during start-up
// (modules, compiled code) it is 4, but once a mark-compact falls in a query's steady state (which in a long run it
// always does, when the old generation reaches the start-up limit), V8 measures 0.5-1 KB/ms promoted against 300-700
// KB/ms of marking and picks 1.1, and from then on a mark-compact (6.5-25 ms in scenario (b)) comes every 2.5-5 s, about
// one pause in 20-40: the GC's p99 is then a mark-compact. With the factor fixed at 3 the next one comes after tens of
// seconds, for a heap up to about 3 times the live one (scenario (b): about 30 MB live, up to about 90 MB; the start-up
// limit is already about 100 MB). README, "What makes (b)'s tail"; ARCHITECTURE.md, decision 65.
export const QUERY_HEAP_GROWING_FLAG = "--heap-growing-percent=200";
export const QUERY_NODE_FLAGS: readonly string[] = [...LATENCY_NODE_FLAGS, QUERY_SEMI_SPACE_FLAG, QUERY_HEAP_GROWING_FLAG];
