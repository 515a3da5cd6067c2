// Spark's mode option as a pure policy: which option values are accepted, and what each mode makes of a bad record.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConnectorOptions } from "../../src/connectors/options.ts";
import { ConfigError, RecordError } from "../../src/core/errors.ts";
import type { Schema } from "../../src/core/types.ts";
import { badRecordHandler, badRecordPolicy, checkCorruptColumn, PARSE_MODE_OPTIONS } from "../../src/static/parse-mode.ts";

const SCHEMA: Schema = { fields: [{ name: "id", type: "long", nullable: true }, { name: "ts", type: "timestamp", nullable: true }, { name: "_corrupt_record", type: "string", nullable: true }] };
const policyOf = (options: Record<string, string>) => badRecordPolicy(new ConnectorOptions("test", new Map(Object.entries(options)), PARSE_MODE_OPTIONS));

describe("parse modes", () => {
  it("reads the mode case-insensitively, defaults to the dead letter, and refuses other values naming the three", () => {
    assert.equal(policyOf({}).mode, "deadLetter");
    assert.equal(policyOf({ mode: "dropMalformed" }).mode, "DROPMALFORMED");
    assert.equal(policyOf({ mode: "PERMISSIVE", columnNameOfCorruptRecord: "bad" }).corruptColumn, "bad");
    assert.throws(() => policyOf({ mode: "strict" }), (error: unknown) => error instanceof ConfigError && /PERMISSIVE, DROPMALFORMED or FAILFAST/.test(error.message));
    assert.throws(() => checkCorruptColumn({ fields: [{ name: "_corrupt_record", type: "string", nullable: false }] }, policyOf({})), (error: unknown) => error instanceof ConfigError && /string type and nullable/.test(error.message));
  });

  it("sends, drops, fails or keeps a bad record as the mode says", () => {
    const letters: string[] = [];
    const dropped: string[] = [];
    const sink = { deadLetter: (_raw: unknown, reason: string) => letters.push(reason), dropped: (reason: string) => dropped.push(reason) };
    assert.equal(badRecordHandler(policyOf({}), SCHEMA, sink)("{x", "f:1: not valid JSON"), undefined);
    assert.deepEqual(letters, ["f:1: not valid JSON"]);
    assert.equal(badRecordHandler(policyOf({ mode: "DROPMALFORMED" }), SCHEMA, sink)("{x", "f:2: not valid JSON"), undefined);
    assert.deepEqual(dropped, ["f:2: not valid JSON"]);
    assert.throws(() => badRecordHandler(policyOf({ mode: "FAILFAST" }), SCHEMA, sink)("{x", "f:3: not valid JSON"), (error: unknown) => error instanceof RecordError && /Parse Mode: FAILFAST.*f:3: not valid JSON/.test(error.message));
    const permissive = badRecordHandler(policyOf({ mode: "PERMISSIVE" }), SCHEMA, sink);
    assert.deepEqual(permissive('{"id":"x","ts":"2026-01-01T00:00:00Z"}\n', "f:4: fails the schema", { id: "x", ts: "2026-01-01T00:00:00Z" }), { id: null, ts: Date.UTC(2026, 0, 1), _corrupt_record: '{"id":"x","ts":"2026-01-01T00:00:00Z"}' });
    assert.deepEqual(permissive("{x", "f:5: not valid JSON"), { id: null, ts: null, _corrupt_record: "{x" });
    assert.equal(letters.length + dropped.length, 2, "PERMISSIVE sends nothing");
  });
});
