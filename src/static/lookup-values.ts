// A database's text value as the Rill value of a column's type: PostgreSQL's text output and Redis's strings.
import { longOfBigInt } from "../core/long.ts";
import type { DataType } from "../core/types.ts";

/** A value that does not fit its column: the row goes to the dead letter with this reason. */
export class BadValue {
  constructor(readonly reason: string) {}
}

const INTEGER = /^[+-]?\d+$/;

/** A text as a value of `type`; null stays null; a text that does not fit gives a BadValue. */
export function valueOfText(text: string | null, type: DataType): unknown {
  if (text === null) return null;
  switch (type) {
    case "string":
    case "any": return text;
    case "int": {
      const value = INTEGER.test(text.trim()) ? Number(text) : Number.NaN;
      return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 ? value : new BadValue(`'${text}' is not an int`);
    }
    case "long": {
      if (!INTEGER.test(text.trim())) return new BadValue(`'${text}' is not a long`);
      const value = BigInt(text.trim());
      return value >= -(2n ** 63n) && value < 2n ** 63n ? longOfBigInt(value) : new BadValue(`'${text}' is out of the long range`);
    }
    case "double": {
      const trimmed = text.trim();
      const value = trimmed === "NaN" ? Number.NaN : trimmed === "Infinity" ? Infinity : trimmed === "-Infinity" ? -Infinity : trimmed === "" ? Number.NaN : Number(trimmed);
      return Number.isNaN(value) && trimmed !== "NaN" ? new BadValue(`'${text}' is not a double`) : value;
    }
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (lower === "t" || lower === "true" || lower === "1") return true;
      if (lower === "f" || lower === "false" || lower === "0") return false;
      return new BadValue(`'${text}' is not a boolean`);
    }
    case "timestamp": return timestampOfText(text);
    case "date": {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
      return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : new BadValue(`'${text}' is not a date (yyyy-MM-dd)`);
    }
    case "binary": return text.startsWith("\\x") ? Uint8Array.from(Buffer.from(text.slice(2), "hex")) : Uint8Array.from(Buffer.from(text, "utf8"));
    default: return new BadValue(`a ${type} column cannot be read from a lookup source; declare it as a string`);
  }
}

/**
 * PostgreSQL's timestamp text ("2024-01-02 03:04:05.123456", with "+02" or "+05:30" for timestamptz) or an ISO
 * 8601 text, as milliseconds; without an offset the time is UTC. A number of milliseconds is taken as it is.
 */
function timestampOfText(text: string): unknown {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) return Number(trimmed);
  let iso = trimmed.replace(" ", "T");
  if (/[+-]\d\d$/.test(iso)) iso = `${iso}:00`;
  else if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) iso = `${iso}Z`;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? new BadValue(`'${text}' is not a timestamp`) : value;
}

/** A JSON value (a Redis JSON document's field) as a value of `type`: values already of the type pass, texts are converted. */
export function valueOfJson(value: unknown, type: DataType): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return valueOfText(value, type);
  if (type === "string") return typeof value === "object" ? JSON.stringify(value) : String(value);
  if (type === "any" || type === "array" || type === "struct") return value;
  if (typeof value === "number" || typeof value === "boolean") return valueOfText(String(value), type);
  return new BadValue(`${JSON.stringify(value)} is not a ${type}`);
}
