// Wall-clock time in fractional milliseconds, comparable across processes on one machine.
const origin = performance.timeOrigin;

export function nowMs(): number {
  return origin + performance.now();
}
