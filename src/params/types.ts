// Parameters: their names, types and values, checked with zod where they enter (a declaration, a KV entry, the CLI).
import { z } from "zod";
import { ConfigError } from "../core/errors.ts";

export const PARAM_TYPES = ["double", "long", "int", "string", "boolean"] as const;
export type ParamType = (typeof PARAM_TYPES)[number];
export type ParamValue = number | string | boolean;

/** Letters, digits, `_` and `-`, not starting with `_` (the bucket keeps declared types under `_type.<name>`). */
export const PARAM_NAME = /^[A-Za-z0-9-][A-Za-z0-9_-]*$/;

/** The values one epoch runs with, and the bucket revision they were read at (0: none read from a bucket). */
export interface ParamSet {
  readonly revision: number;
  readonly values: Readonly<Record<string, ParamValue>>;
}

export const EMPTY_PARAMS: ParamSet = Object.freeze({ revision: 0, values: Object.freeze({}) });

export interface ParamDeclaration {
  readonly type: ParamType;
  readonly default?: ParamValue | undefined;
}

const VALUE_SCHEMAS: Record<ParamType, z.ZodType<ParamValue>> = {
  double: z.number().finite(),
  long: z.number().int().refine(Number.isSafeInteger, "a long parameter must be a safe integer"),
  int: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1),
  string: z.string(),
  boolean: z.boolean(),
};

const declarationSchema = z.object({ type: z.enum(PARAM_TYPES), default: z.union([z.number(), z.string(), z.boolean()]).optional() }).strict();

/** Checks a declaration from code; a wrong one is a ConfigError naming the parameter. */
export function checkDeclaration(name: string, declaration: unknown): ParamDeclaration {
  checkName(name);
  const parsed = declarationSchema.safeParse(declaration);
  if (!parsed.success) throw new ConfigError(`Parameter '${name}' has a wrong declaration: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "declaration"}: ${issue.message}`).join("; ")}. Expected { type: ${PARAM_TYPES.join(" | ")}, default?: value }.`);
  const result: ParamDeclaration = parsed.data.default === undefined ? { type: parsed.data.type } : { type: parsed.data.type, default: checkValue(name, parsed.data.type, parsed.data.default) };
  return result;
}

export function checkName(name: string): void {
  if (!PARAM_NAME.test(name)) throw new ConfigError(`'${name}' is not a parameter name: use letters, digits, '_' and '-', not starting with '_'.`);
}

/** A value of the declared type, or a ConfigError naming the parameter, the type and the value. */
export function checkValue(name: string, type: ParamType, value: unknown): ParamValue {
  const parsed = VALUE_SCHEMAS[type].safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`Parameter '${name}' is declared ${type}, and ${JSON.stringify(value)} is not a ${type}.`);
}

/** The type a value shows when no declaration says one (a parameter only set in the bucket). */
export function typeOfValue(value: ParamValue): ParamType {
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  return Number.isInteger(value) ? "long" : "double";
}

/**
 * The text a person types (`rill param set threshold 40`): for a declared type, that type's reading of it; without
 * one, a number, `true`/`false`, or else the text as a string.
 */
export function parseValueText(name: string, text: string, type: ParamType | undefined): ParamValue {
  if (type === "string") return text;
  if (type === "boolean" || type === undefined) {
    if (text === "true" || text === "false") return text === "true";
    if (type === "boolean") throw new ConfigError(`Parameter '${name}' is declared boolean, and '${text}' is not true or false.`);
  }
  const number = text.trim() === "" ? Number.NaN : Number(text);
  if (type === undefined) return Number.isFinite(number) ? number : text;
  if (!Number.isFinite(number)) throw new ConfigError(`Parameter '${name}' is declared ${type}, and '${text}' is not a number.`);
  return checkValue(name, type, number);
}

/** Bytes in the bucket: the value as JSON. */
export function encodeValue(value: ParamValue): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A bucket entry's bytes; undefined when they are not a JSON number, string or boolean (the caller reports it). */
export function decodeValue(bytes: Uint8Array): ParamValue | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === "number" || typeof value === "string" || typeof value === "boolean" ? value : undefined;
  } catch {
    // Not JSON: the caller reports the entry as unreadable and keeps the value it had.
    return undefined;
  }
}
