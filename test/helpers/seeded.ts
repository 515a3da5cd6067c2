// Test helper: deterministic numbers from a seed (a linear congruential generator), for test data that is the same on
// every run.

/** Whole numbers from 0 to `bound - 1`, the same sequence for the same seed. */
export function seededInts(seed: number): (bound: number) => number {
  let state = seed;
  return (bound) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 16) % bound;
  };
}
