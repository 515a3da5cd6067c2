// The chaos run's checks: each query's output against plain code over the input as the stream holds it, and the checkpoints' invariants.
import type { Row } from "../../../src/core/types.ts";
import { WATERMARK_DELAY_MS, type InputRow } from "./input.ts";
import type { CheckpointFacts, CommittedFile } from "./outputs.ts";
import { FILTER_MIN_VALUE, WINDOW_MS } from "./queries.ts";

export interface Check {
  readonly query: string;
  readonly check: string;
  readonly ok: boolean;
  /** What was seen: figures, and the first few offending rows when it failed. */
  readonly detail: string;
}

const EXAMPLES = 5;

function check(query: string, name: string, problems: readonly string[], summary: string): Check {
  const shown = problems.slice(0, EXAMPLES).join("; ");
  const more = problems.length > EXAMPLES ? ` (and ${problems.length - EXAMPLES} more)` : "";
  return { query, check: name, ok: problems.length === 0, detail: problems.length === 0 ? summary : `${problems.length} problem(s): ${shown}${more}; ${summary}` };
}

/** Per key: its input rows in stream order, and sums[k] = the sum of its first k values. */
interface KeyInput {
  readonly count: number;
  readonly sums: readonly number[];
}

function byKey(input: readonly InputRow[]): Map<string, KeyInput> {
  const sums = new Map<string, number[]>();
  for (const row of input) {
    const list = sums.get(row.key) ?? [0];
    list.push((list[list.length - 1] as number) + row.value);
    sums.set(row.key, list);
  }
  return new Map([...sums].map(([key, list]) => [key, { count: list.length - 1, sums: list }]));
}

/** Stateless: the output holds every row the filter keeps, once, unchanged. */
export function verifyFilter(query: string, input: readonly InputRow[], output: readonly Row[]): Check[] {
  const byId = new Map(input.map((row) => [row.id, row]));
  const expected = input.filter((row) => row.value > FILTER_MIN_VALUE);
  const seen = new Map<number, number>();
  const problems: string[] = [];
  for (const row of output) {
    const id = row.id as number;
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const source = byId.get(id);
    if (!source || source.value <= FILTER_MIN_VALUE) problems.push(`row ${id} is not an input row the filter keeps`);
    else if (row.key !== source.key || row.value !== source.value) problems.push(`row ${id} changed: ${JSON.stringify(row)}`);
  }
  for (const [id, times] of seen) if (times > 1) problems.push(`row ${id} ${times} times`);
  const missing = expected.filter((row) => !seen.has(row.id));
  if (missing.length > 0) problems.push(`${missing.length} row(s) missing, e.g. ${missing.slice(0, EXAMPLES).map((row) => row.id).join(", ")}`);
  return [check(query, "every output row exactly once", problems, `${output.length} rows out, ${expected.length} expected`)];
}

/** Update mode, in output order: each (n, total) is a prefix of its key's input, n never goes back, and the last one covers all of it. */
export function verifyUpdates(query: string, input: readonly InputRow[], output: readonly Row[]): Check[] {
  const keys = byKey(input);
  const notPrefix: string[] = [];
  const backwards: string[] = [];
  const last = new Map<string, Row>();
  for (const [index, row] of output.entries()) {
    const key = row.key as string;
    const n = row.n as number;
    const expected = keys.get(key);
    if (!expected || !Number.isInteger(n) || n < 1 || n > expected.count || expected.sums[n] !== row.total) {
      notPrefix.push(`update #${index} ${JSON.stringify(row)}: ${expected ? `the key's first ${n} rows sum to ${String(expected.sums[n])}` : "no such key"}`);
    }
    const previous = last.get(key);
    if (previous && (previous.n as number) > n) backwards.push(`update #${index} of ${key}: count ${String(previous.n)} then ${n}`);
    last.set(key, row);
  }
  const final: string[] = [];
  for (const [key, expected] of keys) {
    const row = last.get(key);
    if (!row) final.push(`${key}: no update at all (expected count ${expected.count})`);
    else if (row.n !== expected.count || row.total !== expected.sums[expected.count]) final.push(`${key}: last update ${String(row.n)}/${String(row.total)}, expected ${expected.count}/${String(expected.sums[expected.count])}`);
  }
  const figures = `${output.length} updates for ${last.size} keys`;
  return [
    check(query, "every update equals a prefix of its key's input", notPrefix, figures),
    check(query, "no count ever goes back", backwards, figures),
    check(query, "the last update of each key covers all its input", final, `${keys.size} keys in the input`),
  ];
}

function windowStart(value: unknown): number {
  const start = (value as { start: unknown }).start;
  return typeof start === "number" ? start : Date.parse(String(start));
}

/**
 * Append mode windows: each window the final watermark closed comes out once with its exact count, no other comes
 * out, and none came out before the watermark could have passed its end. That bound is independent of the engine:
 * a file written at time t can only reflect rows published before t, and the watermark cannot exceed their latest
 * event time minus the delay.
 */
export function verifyWindows(query: string, input: readonly InputRow[], files: readonly CommittedFile[], sentAt: readonly number[], generated: readonly InputRow[]): Check[] {
  const counts = new Map<number, number>();
  let maxTs = Number.NEGATIVE_INFINITY;
  for (const row of input) {
    if (row.dup || row.late) continue; // the query leaves duplicates out, and drops late rows
    const start = Math.floor(row.ts / WINDOW_MS) * WINDOW_MS;
    counts.set(start, (counts.get(start) ?? 0) + 1);
    maxTs = Math.max(maxTs, row.ts);
  }
  const finalWatermark = maxTs - WATERMARK_DELAY_MS;
  // latestTs[p]: the latest event time among the first p rows sent.
  const latestTs = [Number.NEGATIVE_INFINITY];
  for (const row of generated) latestTs.push(Math.max(latestTs[latestTs.length - 1] as number, row.ts));
  const emitted = new Map<number, number>();
  const twice: string[] = [];
  const wrong: string[] = [];
  const early: string[] = [];
  for (const file of files) {
    const sentBefore = countBefore(sentAt, file.writtenAt);
    const bound = (latestTs[sentBefore] as number) - WATERMARK_DELAY_MS;
    for (const row of file.rows) {
      const start = windowStart(row.window);
      const end = start + WINDOW_MS;
      const label = new Date(start).toISOString();
      emitted.set(start, (emitted.get(start) ?? 0) + 1);
      if ((emitted.get(start) as number) === 2) twice.push(`window ${label}`);
      const expected = counts.get(start) ?? 0;
      if (row.count !== expected) wrong.push(`window ${label}: count ${String(row.count)}, expected ${expected}`);
      if (end > finalWatermark) early.push(`window ${label} ends after the final watermark ${new Date(finalWatermark).toISOString()}`);
      else if (end > bound) early.push(`window ${label} in ${file.path}, written when ${sentBefore} rows were sent: the watermark was at most ${new Date(bound).toISOString()}`);
    }
  }
  const missing = [...counts.keys()].filter((start) => start + WINDOW_MS <= finalWatermark && !emitted.has(start)).sort((a, b) => a - b);
  const closed = [...counts.keys()].filter((start) => start + WINDOW_MS <= finalWatermark).length;
  const figures = `${emitted.size} windows out, ${closed} closed by the final watermark`;
  return [
    check(query, "every window emitted at most once", twice, figures),
    check(query, "every window closed by the watermark is emitted", missing.map((start) => `window ${new Date(start).toISOString()} (${String(counts.get(start))} rows)`), figures),
    check(query, "every window has its exact count", wrong, figures),
    check(query, "no window before the watermark passed its end", early, figures),
  ];
}

/** Number of entries of a non-decreasing list below `time`. */
function countBefore(sorted: readonly number[], time: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((sorted[middle] as number) < time) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** dropDuplicates(guid, ts) with a watermark: each distinct key once, as its first occurrence in stream order; late rows never. */
export function verifyDedup(query: string, input: readonly InputRow[], output: readonly Row[]): Check[] {
  const first = new Map<string, number>();
  for (const row of input) if (!row.late && !first.has(row.guid)) first.set(row.guid, row.id);
  const seen = new Map<string, number>();
  const problems: string[] = [];
  for (const row of output) {
    const guid = row.guid as string;
    seen.set(guid, (seen.get(guid) ?? 0) + 1);
    if (seen.get(guid) === 2) problems.push(`${guid} more than once`);
    if (first.get(guid) !== row.id) problems.push(`${guid} as row ${String(row.id)}, its first occurrence is row ${String(first.get(guid))}`);
  }
  const missing = [...first.keys()].filter((guid) => !seen.has(guid));
  if (missing.length > 0) problems.push(`${missing.length} key(s) missing, e.g. ${missing.slice(0, EXAMPLES).join(", ")}`);
  return [check(query, "each distinct key exactly once, as its first occurrence", problems, `${output.length} rows out, ${first.size} distinct keys in ${input.length} rows`)];
}

/** flatMapGroupsWithState running totals, appended in commit order: per key, n rises strictly, each total is a prefix sum, the last covers all. */
export function verifyRunningTotals(query: string, input: readonly InputRow[], output: readonly Row[]): Check[] {
  const keys = byKey(input);
  const notPrefix: string[] = [];
  const notRising: string[] = [];
  const last = new Map<string, number>();
  for (const [index, row] of output.entries()) {
    const key = row.key as string;
    const n = row.n as number;
    const expected = keys.get(key);
    if (!expected || !Number.isInteger(n) || n < 1 || n > expected.count || expected.sums[n] !== row.total) notPrefix.push(`row #${index} ${JSON.stringify(row)}`);
    const previous = last.get(key) ?? 0;
    if (n <= previous) notRising.push(`row #${index} of ${key}: n ${previous} then ${n}`);
    last.set(key, Math.max(previous, n));
  }
  const final = [...keys].filter(([key, expected]) => last.get(key) !== expected.count).map(([key, expected]) => `${key}: last n ${String(last.get(key))}, expected ${expected.count}`);
  const figures = `${output.length} rows for ${last.size} keys`;
  return [
    check(query, "every total equals a prefix of its key's input", notPrefix, figures),
    check(query, "each key's totals rise strictly (each row once, none goes back)", notRising, figures),
    check(query, "the last total of each key covers all its input", final, `${keys.size} keys in the input`),
  ];
}

/** Seen after a kill: committed epochs contiguous, and no delta of a committed epoch left outside the state. */
export function checkpointProblems(facts: CheckpointFacts): string[] {
  const problems: string[] = [];
  const last = facts.commits[facts.commits.length - 1] ?? -1;
  const stranded = facts.pendingDeltas.filter((epoch) => epoch <= last);
  if (stranded.length > 0) problems.push(`deltas of committed epoch(s) ${stranded.join(", ")} left outside the state (last commit ${last})`);
  for (let index = 1; index < facts.commits.length; index++) {
    const previous = facts.commits[index - 1] as number;
    const epoch = facts.commits[index] as number;
    if (epoch !== previous + 1) problems.push(`epoch ${epoch} committed without epoch ${previous + 1} (commits ${previous} then ${epoch})`);
  }
  return problems;
}

/** The input as the stream holds it: every generated row once. */
export function verifyInput(generated: readonly InputRow[], input: readonly InputRow[]): Check {
  const seen = new Map<number, number>();
  for (const row of input) seen.set(row.id, (seen.get(row.id) ?? 0) + 1);
  const problems: string[] = [];
  for (const [id, times] of seen) if (times > 1) problems.push(`row ${id} stored ${times} times`);
  const missing = generated.filter((row) => !seen.has(row.id));
  if (missing.length > 0) problems.push(`${missing.length} acked row(s) lost by nats-server, e.g. ${missing.slice(0, EXAMPLES).map((row) => row.id).join(", ")}`);
  return check("input", "the input stream holds every published row once", problems, `${input.length} rows in the stream, ${generated.length} published`);
}

/**
 * The dead-letter stream holds, for this query, one letter for each bad message published (its id read back from the
 * letter's raw text), none twice, and none for a good row.
 */
export function verifyDeadLetters(query: string, badPublished: readonly number[], letters: readonly Row[]): Check {
  const seen = new Map<number, number>();
  const problems: string[] = [];
  let mine = 0;
  for (const letter of letters) {
    if (letter.query !== query) continue;
    mine++;
    let id: number | undefined;
    try {
      id = (JSON.parse(String(letter.raw)) as { id?: number }).id;
    } catch {
      problems.push(`a letter whose raw text is not the message: ${String(letter.raw).slice(0, 80)}`);
      continue;
    }
    if (typeof id !== "number" || id >= 0) problems.push(`a good row dead-lettered: ${String(letter.raw).slice(0, 80)} (${String(letter.reason)})`);
    else seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  for (const [id, times] of seen) if (times > 1) problems.push(`bad message ${id} dead-lettered ${times} times`);
  const missing = badPublished.filter((id) => !seen.has(id));
  if (missing.length > 0) problems.push(`${missing.length} bad message(s) never dead-lettered, e.g. ${missing.slice(0, EXAMPLES).join(", ")}`);
  return check(query, "each bad input message in the dead-letter stream exactly once", problems, `${mine} letters, ${badPublished.length} bad messages published`);
}
