// What a static file read does with a malformed record: Spark's `mode` option (PERMISSIVE, DROPMALFORMED, FAILFAST) when
// it is given, and Rill's default when it is not: the record goes to the dead-letter output with its file, line and reason.
import type { ConnectorOptions } from "../connectors/options.ts";
import type { BadRecordHandler } from "../connectors/sources/file-parsers.ts";
import { permissiveRow } from "../connectors/sources/decode.ts";
import { ConfigError, RecordError } from "../core/errors.ts";
import { findField, type Row, type Schema } from "../core/types.ts";

/** `deadLetter` is Rill's default (no `mode` option); the others are Spark's parse modes. */
export type ParseMode = "deadLetter" | "PERMISSIVE" | "DROPMALFORMED" | "FAILFAST";

export interface BadRecordPolicy {
  readonly mode: ParseMode;
  /** columnNameOfCorruptRecord (Spark's default `_corrupt_record`): where PERMISSIVE keeps the malformed text. */
  readonly corruptColumn: string;
}

export const PARSE_MODE_OPTIONS = ["mode", "columnNameOfCorruptRecord"];
const SPARK_MODES: readonly ParseMode[] = ["PERMISSIVE", "DROPMALFORMED", "FAILFAST"];

/** The policy the options ask for; a mode that is not one of Spark's three is a ConfigError naming them. */
export function badRecordPolicy(options: ConnectorOptions): BadRecordPolicy {
  const given = options.string("mode");
  const corruptColumn = options.string("columnNameOfCorruptRecord") ?? "_corrupt_record";
  if (given === undefined) return { mode: "deadLetter", corruptColumn };
  const mode = SPARK_MODES.find((candidate) => candidate === given.trim().toUpperCase());
  if (mode === undefined) throw options.invalid("mode", given, "PERMISSIVE, DROPMALFORMED or FAILFAST (left out: bad records go to the dead-letter output)");
  return { mode, corruptColumn };
}

/** Spark's rule: the corrupt-record column, when the schema has it, holds text and may be null. */
export function checkCorruptColumn(schema: Schema, policy: BadRecordPolicy): void {
  const field = findField(schema, policy.corruptColumn);
  if (field !== undefined && (field.type !== "string" || !field.nullable)) {
    throw new ConfigError(`The field for corrupt records must be string type and nullable: '${field.name}' is ${field.type}${field.nullable ? "" : " NOT NULL"} (columnNameOfCorruptRecord = '${policy.corruptColumn}').`);
  }
}

/** Where the records a policy does not keep go: the dead-letter output, or the count of dropped ones. */
export interface BadRecordSink {
  deadLetter(raw: unknown, reason: string): void;
  dropped(reason: string): void;
}

/**
 * The parsers' handler for the policy. PERMISSIVE keeps the record: the fields that hold a value of their type, nulls
 * elsewhere, and the malformed text in the corrupt-record column when the schema has one. FAILFAST throws a RecordError
 * at the first bad record, with Spark's message and the file and line.
 */
export function badRecordHandler(policy: BadRecordPolicy, schema: Schema, sink: BadRecordSink): BadRecordHandler {
  switch (policy.mode) {
    case "deadLetter":
      return (raw, reason) => {
        sink.deadLetter(raw, reason);
      };
    case "DROPMALFORMED":
      return (_raw, reason) => {
        sink.dropped(reason);
      };
    case "FAILFAST":
      return (_raw, reason) => {
        throw new RecordError(`Malformed records are detected in record parsing. Parse Mode: FAILFAST. To process malformed records as null result, try setting the option 'mode' as 'PERMISSIVE'. The record: ${reason}`);
      };
    case "PERMISSIVE": {
      const corrupt = findField(schema, policy.corruptColumn)?.name;
      const dataSchema: Schema = { fields: schema.fields.filter((field) => field.name !== corrupt) };
      return (raw, _reason, decoded): Row => {
        const row = permissiveRow(dataSchema, decoded);
        if (corrupt !== undefined) row[corrupt] = typeof raw === "string" ? raw.replace(/\r?\n$/, "") : String(raw);
        return row;
      };
    }
  }
}
