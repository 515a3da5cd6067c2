// V8 flags for the Node processes Rill starts itself: the `rill` command, local worker processes, the bench harness.
//
// --no-parallel-scavenge: a scavenge in a Rill process keeps little (20-50 KB of the 13 MB a scavenge sees in scenario
// (b) at 10k rows/s), so helper threads have nothing to share, and on a machine whose cores are busy (nats-server, the
// other actors' processes) the main thread waits for a helper that is not running. Measured: GC pause p99 1.7-3.2 ms
// with it against 4.6-7.0 ms without (README, "GC pauses in scenario (b)"; ARCHITECTURE.md, decision log). An embedder
// starts Node itself and passes the flag on its own command line (`node --no-parallel-scavenge app.js`).
export const LATENCY_NODE_FLAGS: readonly string[] = ["--no-parallel-scavenge"];
