// State values as checkpoints store them (src/state/value-codec.ts): msgpack plus a CRC-32 on write, the check on read.
// "Plain code" is msgpack alone, which is what the checkpoint stored before state values carried a checksum.
import assert from "node:assert/strict";
import { Packr } from "msgpackr";
import { damageOf, decodeStateValue, encodeStateValue } from "../../src/state/value-codec.ts";
import { FRAME_ROWS, type MicroSuite } from "./harness.ts";

/** An aggregation's state for 256 groups: the accumulators of count, sum, avg and collect_set. */
function stateValues(): unknown[] {
  return Array.from({ length: FRAME_ROWS }, (_, index) => [index * 7, index * 1.5, [index * 3.25, index + 1], [`v${index % 5}`, `w${index % 3}`]]);
}

export function stateValueSuite(): MicroSuite {
  const values = stateValues();
  const packr = new Packr({ useRecords: false, int64AsType: "auto" as "bigint" });
  const stored = values.map(encodeStateValue);
  const plainStored = values.map((value) => packr.pack(value));
  return {
    name: "state",
    tasks: [
      {
        name: `encode ${FRAME_ROWS} state values with their CRC-32 (an epoch's writes)`,
        rowsPerCall: FRAME_ROWS,
        check: () => assert.deepEqual(values.map((value) => decodeStateValue(encodeStateValue(value))), values),
        run: () => {
          let bytes = 0;
          for (const value of values) bytes += encodeStateValue(value).length;
          return bytes;
        },
        plain: () => {
          let bytes = 0;
          for (const value of values) bytes += packr.pack(value).length;
          return bytes;
        },
      },
      {
        name: `check and decode ${FRAME_ROWS} state values (a restore)`,
        rowsPerCall: FRAME_ROWS,
        check: () => {
          assert.ok(stored.every((bytes) => damageOf(bytes) === undefined));
          assert.deepEqual(stored.map(decodeStateValue), values);
        },
        run: () => {
          let count = 0;
          for (const bytes of stored) if (damageOf(bytes) === undefined && decodeStateValue(bytes) !== null) count++;
          return count;
        },
        plain: () => {
          let count = 0;
          for (const bytes of plainStored) if (packr.unpack(bytes) !== null) count++;
          return count;
        },
      },
    ],
  };
}
