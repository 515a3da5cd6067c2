// The chaos checks themselves: each one passes on a correct output and flags the failure it exists for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeBad, generateInput, WATERMARK_DELAY_MS, type InputRow } from "./input.ts";
import { checkpointProblems, verifyDeadLetters, verifyDedup, verifyFilter, verifyRunningTotals, verifyUpdates, verifyWindows, type Check } from "./verifier.ts";
import { FILTER_MIN_VALUE, WINDOW_MS } from "./queries.ts";
import type { Row } from "../../../src/core/types.ts";

const input = generateInput(5, 4000);
const failing = (checks: readonly Check[]) => checks.filter((check) => !check.ok).map((check) => check.check);

/** The update stream a correct engine could give: one update per key every 7 rows, and a last one per key. */
function updates(rows: readonly InputRow[]): Row[] {
  const totals = new Map<string, { n: number; total: number }>();
  const out: Row[] = [];
  rows.forEach((row, index) => {
    const next = { n: (totals.get(row.key)?.n ?? 0) + 1, total: (totals.get(row.key)?.total ?? 0) + row.value };
    totals.set(row.key, next);
    if (index % 7 === 0) out.push({ key: row.key, ...next });
  });
  for (const [key, last] of totals) out.push({ key, ...last });
  return out;
}

function windows(rows: readonly InputRow[]): Array<{ start: number; count: number }> {
  const counts = new Map<number, number>();
  let maxTs = 0;
  for (const row of rows) {
    if (row.dup || row.late) continue;
    const start = Math.floor(row.ts / WINDOW_MS) * WINDOW_MS;
    counts.set(start, (counts.get(start) ?? 0) + 1);
    maxTs = Math.max(maxTs, row.ts);
  }
  return [...counts].filter(([start]) => start + WINDOW_MS <= maxTs - WATERMARK_DELAY_MS).map(([start, count]) => ({ start, count }));
}

describe("chaos checks", () => {
  it("the input has duplicates near and far, and late rows, all from the seed", () => {
    assert.deepEqual(generateInput(5, 4000), input, "the same seed gives the same rows");
    const far = input.filter((row) => row.dup && row.id - Number(row.guid.slice(1)) >= 270);
    assert.ok(far.length > 10 && input.some((row) => row.late) && input.filter((row) => row.dup).length > far.length, "some of each kind");
  });

  it("the filter check flags a duplicated and a lost row", () => {
    const kept = input.filter((row) => row.value > FILTER_MIN_VALUE).map((row) => ({ id: row.id, key: row.key, value: row.value }));
    assert.deepEqual(failing(verifyFilter("q", input, kept)), []);
    const broken = [...kept.slice(1), kept[5] as Row];
    assert.match(verifyFilter("q", input, broken)[0]?.detail ?? "", /row \d+ 2 times.*1 row\(s\) missing/);
  });

  it("the update check flags a value that is no prefix, a count that goes back, and a key left short", () => {
    const good = updates(input);
    assert.deepEqual(failing(verifyUpdates("q", input, good)), []);
    const wrongValue = good.map((row, index) => (index === 3 ? { ...row, total: (row.total as number) + 1 } : row));
    assert.deepEqual(failing(verifyUpdates("q", input, wrongValue)), ["every update equals a prefix of its key's input"]);
    const back = [...good, good[0] as Row];
    assert.deepEqual(failing(verifyUpdates("q", input, back)), ["no count ever goes back", "the last update of each key covers all its input"]);
  });

  it("the window check flags a window twice, a wrong count, a missing window and one emitted too early", () => {
    const expected = windows(input);
    const sentAt = input.map((_row, index) => index);
    const file = (rows: Array<{ start: number; count: number }>, writtenAt = input.length) => ({ path: "f", writtenAt, rows: rows.map(({ start, count }) => ({ window: { start: new Date(start).toISOString(), end: new Date(start + WINDOW_MS).toISOString() }, count })) });
    assert.deepEqual(failing(verifyWindows("q", input, [file(expected)], sentAt, input)), []);
    const twice = [file(expected), file([{ start: expected[2]?.start ?? 0, count: 1 }])];
    assert.deepEqual(failing(verifyWindows("q", input, twice, sentAt, input)), ["every window emitted at most once", "every window has its exact count"]);
    assert.deepEqual(failing(verifyWindows("q", input, [file(expected.slice(1))], sentAt, input)), ["every window closed by the watermark is emitted"]);
    assert.deepEqual(failing(verifyWindows("q", input, [file(expected.slice(0, 20), 10), file(expected.slice(20))], sentAt, input)), ["no window before the watermark passed its end"]);
  });

  it("the dedup check flags a far duplicate and a late row let through", () => {
    const first = new Map<string, InputRow>();
    for (const row of input) if (!row.late && !first.has(row.guid)) first.set(row.guid, row);
    const good = [...first.values()].map((row) => ({ id: row.id, guid: row.guid }));
    assert.deepEqual(failing(verifyDedup("q", input, good)), []);
    const far = input.find((row) => row.dup && !row.late) as InputRow;
    const late = input.find((row) => row.late) as InputRow;
    assert.match(verifyDedup("q", input, [...good, { id: far.id, guid: far.guid }, { id: late.id, guid: late.guid }])[0]?.detail ?? "", /more than once.*first occurrence is row undefined/);
  });

  it("the running total check flags a row repeated after a replay", () => {
    const good = updates(input).filter((row, index, all) => all.findIndex((other) => other.key === row.key && other.n === row.n) === index);
    assert.deepEqual(failing(verifyRunningTotals("q", input, good)), []);
    assert.deepEqual(failing(verifyRunningTotals("q", input, [...good.slice(0, 10), good[3] as Row, ...good.slice(10)])), ["each key's totals rise strictly (each row once, none goes back)"]);
  });

  it("the checkpoint check flags a delta of a committed epoch and an epoch committed before the one before it", () => {
    assert.deepEqual(checkpointProblems({ commits: [3, 4, 5], pendingDeltas: [6, 7] }), []);
    assert.deepEqual(checkpointProblems({ commits: [3, 4, 6], pendingDeltas: [5, 7] }), ["deltas of committed epoch(s) 5 left outside the state (last commit 6)", "epoch 6 committed without epoch 5 (commits 4 then 6)"]);
  });

  it("the dead-letter check flags a bad message lost, one sent twice, and a good row dead-lettered", () => {
    const letter = (query: string, id: number): Row => ({ query, source: "JetStream", reason: "fails the schema", raw: new TextDecoder().decode(encodeBad(id)) });
    const letters = [letter("q", -1), letter("other", -1), letter("q", -2), letter("q", -3)];
    assert.deepEqual(failing([verifyDeadLetters("q", [-1, -2, -3], letters)]), []);
    assert.match(verifyDeadLetters("q", [-1, -2, -3, -4], letters).detail, /1 bad message\(s\) never dead-lettered, e\.g\. -4/);
    assert.match(verifyDeadLetters("q", [-1, -2, -3], [...letters, letter("q", -2)]).detail, /bad message -2 dead-lettered 2 times/);
    assert.match(verifyDeadLetters("q", [-1, -2, -3], [...letters, { ...letter("q", 7), raw: '{"id":7}' }]).detail, /a good row dead-lettered/);
    assert.match(verifyDeadLetters("other", [-1, -2], letters).detail, /never dead-lettered, e\.g\. -2/);
  });
});
