// Hostile: which attempt's preparation of a committed epoch a restart publishes, when the wall clock stepped back
// between two drivers' starts on one checkpoint (NTP correcting a clock that ran ahead). Driver A opens, resumes after
// epoch 4, stalls (SIGSTOP, a long pause) before committing 5; the clock steps back 60 s; driver B takes the checkpoint
// over, resumes after epoch 4 too, prepares 5 and commits it; A wakes and writes its own preparation of 5 (the sink's
// file is not fenced); B dies before publishing. The next start must publish B's rows, the ones the checkpoint's
// commit of 5 matches (decision 70). Attempts of two runs resuming at the same point are ordered by `openedAt`,
// the wall clock (src/connectors/sinks/prepared-epochs.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { committingPreparation, type PreparedBy } from "../../../src/connectors/sinks/prepared-epochs.ts";

describe("hostile: the committing preparation across a clock step", () => {
  it("picks the preparation of the attempt that took the checkpoint last, though its clock read earlier", { todo: "attempts of two runs are ordered by Date.now() at open: a clock stepped back between the two starts makes the stalled driver's rows the ones published for the committed epoch" }, () => {
    const stalled: PreparedBy = { runId: "aaaaaaaa-0000-0000-0000-000000000000", number: 0, resumedAfter: 4, openedAt: Date.UTC(2026, 11, 2, 3, 0, 0) };
    // B started 10 s after A in real time, after the clock was stepped back 60 s.
    const committing: PreparedBy = { runId: "bbbbbbbb-0000-0000-0000-000000000000", number: 0, resumedAfter: 4, openedAt: stalled.openedAt + 10_000 - 60_000 };
    const chosen = committingPreparation([{ name: "000000000005-aaaaaaaa0000_0", attempt: stalled }, { name: "000000000005-bbbbbbbb0000_0", attempt: committing }]);
    assert.equal(chosen?.attempt, committing, `published the preparation of run ${chosen?.attempt?.runId.slice(0, 8)}`);
  });
});
