// A process's own peak resident memory. process.resourceUsage().maxRSS is getrusage's ru_maxrss, which Linux carries
// across exec: a process spawned by a large parent (the bench, a test runner, a supervisor) reports the parent's
// resident size at fork when it is larger than its own. /proc/self/status's VmHWM is the peak of this process's own
// address space since exec.
import { readFileSync } from "node:fs";

/** Peak resident memory of this process since it started (VmHWM on Linux, else ru_maxrss), in MB. */
export function peakRssMb(): number {
  const fromProc = vmHwmKb();
  return (fromProc ?? process.resourceUsage().maxRSS) / 1024;
}

function vmHwmKb(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
