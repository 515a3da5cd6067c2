// Test helper: deterministic rows for the aggregation tests by position: keys of strings (some holding U+0000) and
// longs past 2^53, a null in every nullable column now and then, event times in order but for a few late rows.
import { z } from "zod";
import { seededInts } from "./seeded.ts";

export const keyedRowSchema = z.object({
  id: z.number().int(),
  k: z.string().nullable(),
  n: z.union([z.bigint(), z.number().int()]).nullable(),
  d: z.number().nullable(),
  at: z.date(),
});
export type KeyedRow = z.input<typeof keyedRowSchema>;

const START = Date.UTC(2026, 0, 1);

/** `count` rows 250 ms apart from 2026-01-01, `k` one of `texts`; every 23rd row of the second half is 60 s late. */
export function keyedRows(count: number, seed: number, texts: readonly string[]): KeyedRow[] {
  const next = seededInts(seed);
  return Array.from({ length: count }, (_, id) => {
    const late = id > count / 2 && id % 23 === 0;
    return {
      id,
      k: next(7) === 0 ? null : (texts[next(texts.length)] as string),
      n: next(8) === 0 ? null : next(2) === 0 ? 2n ** 60n + BigInt(next(3)) : next(4),
      d: next(9) === 0 ? null : (next(400) - 200) / 4,
      at: new Date(START + (late ? id * 250 - 60_000 : id * 250)),
    };
  });
}
