// One full collection in a query's steady state, as a long run gets one once its old generation reaches the limit V8
// set during start-up (about 100 MB; scenario (b) at 10k rows/s reaches it after minutes): preload it to see what
// limit V8 sets after such a collection and how often mark-compacts follow (ARCHITECTURE.md, decision 65), e.g.
// `node --no-parallel-scavenge --no-concurrent-array-buffer-sweeping --max-semi-space-size=8 --expose-gc --trace-gc --trace-gc-verbose --import tsx --import ./bench/steady-gc.ts bench/point.ts --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 30`
// then `grep -E 'HeapController\] factor|Mark-Compact'` the output (the main isolate's lines; the wake thread prints its
// own). RILL_STEADY_GC_MS sets when (default 8000 ms after the preload loads). Never part of a measured bench run.
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error("bench/steady-gc.ts needs node's --expose-gc.");
setTimeout(() => collect(), Number(process.env["RILL_STEADY_GC_MS"] ?? 8000)).unref();
