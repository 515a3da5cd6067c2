// Reads a connector's string options once, at construction: every name known, every value checked, errors naming the option.
import { parseDuration } from "../core/duration.ts";
import { closestName, ConfigError } from "../core/errors.ts";

/** Options every sink accepts and leaves to the engine (Spark passes them through the writer's options). */
export const ENGINE_SINK_OPTIONS = ["checkpointLocation"] as const;

/**
 * The options of one connector. Names match case-insensitively, as Spark's do; the constructor
 * rejects a name the connector does not know, with the closest known name as a hint.
 */
export class ConnectorOptions {
  private readonly values = new Map<string, { name: string; value: string }>();

  /** `owner` names the connector in messages, e.g. "the rate source". */
  constructor(private readonly owner: string, options: ReadonlyMap<string, string>, known: readonly string[]) {
    const canonical = new Map(known.map((name) => [name.toLowerCase(), name]));
    for (const [name, value] of options) {
      const knownName = canonical.get(name.toLowerCase());
      if (knownName === undefined) {
        const hint = closestName(name, known);
        const list = known.length > 0 ? `Options: ${known.join(", ")}.` : "It takes no options.";
        throw new ConfigError(`Unknown option '${name}' (value '${value}') for ${owner}.${hint ? ` Did you mean '${hint}'?` : ""} ${list}`);
      }
      const earlier = this.values.get(knownName);
      if (earlier) throw new ConfigError(`Option '${knownName}' of ${owner} is given twice, as '${earlier.name}' ('${earlier.value}') and '${name}' ('${value}'); option names ignore case. Keep one.`);
      this.values.set(knownName, { name, value });
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    return this.values.get(name)?.value;
  }

  requiredString(name: string, allowed: string): string {
    const value = this.string(name);
    if (value === undefined || value.trim() === "") {
      const got = value === undefined ? "is missing" : "is empty";
      throw new ConfigError(`Option '${name}' of ${this.owner} ${got}; it must be ${allowed}. Set it with .option("${name}", ...).`);
    }
    return value;
  }

  /** A number within [min, max]; `integer` also requires a whole number. */
  number(name: string, fallback: number, range: { min: number; max?: number; integer?: boolean; minExclusive?: boolean }): number {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = text.trim() === "" ? Number.NaN : Number(text);
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    const belowMin = range.minExclusive ? value <= range.min : value < range.min;
    if (!Number.isFinite(value) || belowMin || value > max || (range.integer && !Number.isInteger(value))) {
      const kind = range.integer ? "a whole number" : "a number";
      const lower = range.minExclusive ? `greater than ${range.min}` : `at least ${range.min}`;
      const upper = range.max === undefined ? "" : ` and at most ${range.max}`;
      throw this.invalid(name, text, `${kind} ${lower}${upper}`);
    }
    return value;
  }

  /** A fraction of events, in [0, max]. */
  fraction(name: string, fallback: number, max = 1): number {
    return this.number(name, fallback, { min: 0, max });
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const lower = text.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    throw this.invalid(name, text, "'true' or 'false'");
  }

  /** A duration in milliseconds, as Spark writes them ("5 seconds", "200 ms"; a bare number is milliseconds). */
  duration(name: string, fallback: number, minMs = 0): number {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = parseDuration(text, `Option '${this.values.get(name)?.name ?? name}' of ${this.owner}`);
    if (value < minMs) throw this.invalid(name, text, `a duration of at least ${minMs} ms, e.g. '5 seconds' or '200 ms'`);
    return value;
  }

  choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const found = allowed.find((candidate) => candidate.toLowerCase() === text.trim().toLowerCase());
    if (found !== undefined) return found;
    const hint = closestName(text, allowed);
    throw this.invalid(name, text, `one of ${allowed.map((value) => `'${value}'`).join(", ")}${hint ? ` (did you mean '${hint}'?)` : ""}`);
  }

  /** One character, as CSV's separator, quote and escape are. */
  character(name: string, fallback: string): string {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = text === "\\t" ? "\t" : text;
    if (value.length !== 1) throw this.invalid(name, text, "a single character, e.g. ',' or '\\t'");
    return value;
  }

  invalid(name: string, value: string, allowed: string): ConfigError {
    const written = this.values.get(name)?.name ?? name;
    return new ConfigError(`Option '${written}' of ${this.owner} is '${value}'; it must be ${allowed}.`);
  }
}

/** Rejects a user schema for a source whose columns are fixed (rate, activity), as Spark does. */
export function rejectUserSchema(format: string, schema: unknown): void {
  if (schema !== undefined) throw new ConfigError(`The ${format} source does not support a user-specified schema; its columns are fixed. Remove .schema(...).`);
}
