// The precise wake thread on its own (src/connectors/sources/precise-wake.ts): how late each call is made past its
// deadline, the CPU the calls cost (both threads), and the memory the thread adds, for calls spaced `--spacing` ms apart;
// first, how late the first call is, asked for 2 ms after acquire() in this fresh process (the thread still starting).
// Usage: node --import tsx bench/precise-wake.ts [--spacing 0.1] [--seconds 3]
import { parseArgs } from "node:util";
import { acquirePreciseWake, preciseWakeOnline } from "../src/connectors/sources/precise-wake.ts";
import { nowMs } from "../src/core/clock.ts";

const { values } = parseArgs({ options: { spacing: { type: "string", default: "0.1" }, seconds: { type: "string", default: "3" } } });
const spacing = Number(values.spacing);
const seconds = Number(values.seconds);
const rssMb = (): number => process.memoryUsage().rss / 1e6;

const before = rssMb();
const acquiredAt = nowMs();
const wake = acquirePreciseWake();
const firstDue = acquiredAt + 2;
const firstLate = await new Promise<number>((resolve) => wake.at(firstDue, () => resolve(nowMs() - firstDue)));
// The rest measures the thread: calls made while it starts are made by a timer too.
do await new Promise<void>((resolve) => wake.at(nowMs() + 20, resolve));
while (!preciseWakeOnline());
const started = rssMb();
const lateness: number[] = [];
const cpuBefore = process.cpuUsage();
const begin = nowMs();
await new Promise<void>((resolve) => {
  let due = nowMs() + spacing;
  const call = (): void => {
    const now = nowMs();
    lateness.push(now - due);
    if (now - begin >= seconds * 1000) return resolve();
    due += spacing;
    wake.at(due, call);
  };
  wake.at(due, call);
});
const cpu = process.cpuUsage(cpuBefore);
const wallMs = nowMs() - begin;
const after = rssMb();
wake.close();

lateness.sort((a, b) => a - b);
const at = (quantile: number): string => (lateness[Math.floor(quantile * (lateness.length - 1))] ?? Number.NaN).toFixed(3);
const cores = (micros: number): string => (micros / 1000 / wallMs).toFixed(3);
console.log(`first call (due 2 ms after acquire) late by ${firstLate.toFixed(3)} ms; spacing ${spacing} ms, ${lateness.length} calls: late by min ${at(0)}, p50 ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)} ms; ` +
  `cores ${cores(cpu.user + cpu.system)} (user ${cores(cpu.user)}, system ${cores(cpu.system)}); ` +
  `RSS ${before.toFixed(1)} MB, +${(started - before).toFixed(1)} with the thread, +${(after - before).toFixed(1)} after the calls`);
