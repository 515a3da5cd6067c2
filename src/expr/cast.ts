// Cast converters chosen once per (from, to) pair at compile time; each converts one non-null value.
import { longOfBigInt, longToDouble, type LongValue } from "../core/long.ts";
import type { DataType } from "../core/types.ts";
import { formatDate, startOfDay } from "./datetime.ts";
import { formatNested } from "./nested-values.ts";
import {
  doubleToInt, doubleToLong, formatDouble, formatTimestamp, longToInt, parseBoolean, parseDouble, parseInt32, parseLong,
  parseTimestamp, secondsToTimestamp, timestampToSeconds, valueToString,
} from "./values.ts";

/** Converts one non-null value; returns null when the value has no representation in the target type. */
export type Converter = (value: unknown) => unknown;

type StaticType = Exclude<DataType, "any" | "null">;

const identity: Converter = (value) => value;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const TO_STRING: Partial<Record<StaticType, Converter>> = {
  string: identity,
  int: (value) => String(value),
  long: (value) => String(value),
  double: (value) => formatDouble(value as number),
  boolean: (value) => String(value),
  timestamp: (value) => formatTimestamp(value as number),
  binary: (value) => decoder.decode(value as Uint8Array),
  date: (value) => formatDate(value as number),
  array: formatNested,
  struct: formatNested,
  window: formatNested,
};

const TO_INT: Partial<Record<StaticType, Converter>> = {
  int: identity,
  long: (value) => longToInt(value as LongValue),
  double: (value) => doubleToInt(value as number),
  string: (value) => parseInt32(value as string),
  boolean: (value) => (value === true ? 1 : 0),
  timestamp: (value) => longToInt(timestampToSeconds(value as number)),
};

const TO_LONG: Partial<Record<StaticType, Converter>> = {
  int: identity,
  long: identity,
  double: (value) => doubleToLong(value as number),
  string: (value) => parseLong(value as string),
  boolean: (value) => (value === true ? 1 : 0),
  timestamp: (value) => timestampToSeconds(value as number),
};

const TO_DOUBLE: Partial<Record<StaticType, Converter>> = {
  double: identity,
  int: identity,
  long: longToDouble,
  string: (value) => parseDouble(value as string),
  boolean: (value) => (value === true ? 1 : 0),
  timestamp: (value) => (value as number) / 1000,
};

const TO_BOOLEAN: Partial<Record<StaticType, Converter>> = {
  boolean: identity,
  int: (value) => value !== 0,
  long: (value) => value !== 0,
  double: (value) => value !== 0,
  string: (value) => parseBoolean(value as string),
  timestamp: (value) => value !== 0,
};

const TO_TIMESTAMP: Partial<Record<StaticType, Converter>> = {
  timestamp: identity,
  int: (value) => secondsToTimestamp(value as number),
  long: (value) => secondsToTimestamp(longToDouble(value)),
  double: (value) => secondsToTimestamp(value as number),
  string: (value) => parseTimestamp(value as string),
  date: identity,
};

const TO_DATE: Partial<Record<StaticType, Converter>> = {
  date: identity,
  timestamp: (value) => startOfDay(value as number),
  string: (value) => {
    const timestamp = parseTimestamp(value as string);
    return timestamp === null ? null : startOfDay(timestamp);
  },
};

const TO_BINARY: Partial<Record<StaticType, Converter>> = {
  binary: identity,
  string: (value) => encoder.encode(value as string),
};

const CONVERTERS: Record<StaticType, Partial<Record<StaticType, Converter>>> = {
  string: TO_STRING,
  int: TO_INT,
  long: TO_LONG,
  double: TO_DOUBLE,
  boolean: TO_BOOLEAN,
  timestamp: TO_TIMESTAMP,
  binary: TO_BINARY,
  window: { window: identity },
  date: TO_DATE,
  array: { array: identity },
  struct: { struct: identity, window: identity },
};

/** The static type a value of unknown type ("any") has at run time. */
function runtimeType(value: unknown): StaticType | undefined {
  switch (typeof value) {
    case "number":
      return Number.isInteger(value) ? "long" : "double";
    case "string":
      return "string";
    case "boolean":
      return "boolean";
    case "bigint":
      return "long";
    default:
      if (value instanceof Uint8Array) return "binary";
      if (value instanceof Date) return "timestamp";
      return undefined;
  }
}

/** For "any" input the converter is picked per value from a table built here, once. */
function dynamicConverter(to: StaticType): Converter {
  const table = CONVERTERS[to];
  if (to === "string") return valueToString;
  return (value) => {
    const type = runtimeType(value);
    if (type === undefined) return null;
    const normalized = typeof value === "bigint" ? longOfBigInt(value) : value instanceof Date ? value.getTime() : value;
    const converter = table[type];
    return converter === undefined ? null : converter(normalized);
  };
}

/**
 * The converter for `cast(x as to)` when x has static type `from`, or undefined when Spark does not allow that cast.
 * A "null"-typed input never reaches a converter (the caller yields null); "any" resolves per value.
 */
export function castConverter(from: DataType, to: DataType): Converter | undefined {
  if (to === "any" || from === "null" || from === to) return identity;
  if (to === "null") return undefined;
  if (from === "any") return dynamicConverter(to);
  return CONVERTERS[to][from];
}
