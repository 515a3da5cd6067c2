// The subjects of a query's attempts: each rollback gets its own, under the run's token, so late frames reach no one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { querySubjects } from "../../src/actors/subjects.ts";

describe("query subjects", () => {
  it("give each attempt after a rollback its own subjects, all under the run's token", () => {
    const first = querySubjects("rill", "counts", "1a2b3c4d-ffff");
    const third = querySubjects("rill", "counts", "1a2b3c4d-ffff", 2);
    assert.equal(first.input("s1-aggregate.p0"), "rill.counts.1a2b3c4d.s1-aggregate.p0");
    assert.equal(third.input("s1-aggregate.p0"), "rill.counts.1a2b3c4d_2.s1-aggregate.p0");
    assert.equal(third.control, "rill.counts.1a2b3c4d_2._control");
    const subjectsOf = (subjects: typeof first) => [subjects.input("a"), subjects.credit("a"), subjects.control, subjects.coordinator];
    for (const subject of subjectsOf(first)) assert.ok(!subjectsOf(third).includes(subject), `${subject} is shared by two attempts`);
    for (const subject of [...subjectsOf(first), ...subjectsOf(third)]) assert.ok(subject.startsWith("rill.counts.1a2b3c4d"), subject);
  });
});
