// One query's parameters while it runs: the names it uses, the values in force, the values of the next epoch, history.
import { AnalysisError } from "../core/errors.ts";
import type { DataType } from "../core/types.ts";
import type { ParamCatalog } from "../expr/param-function.ts";
import { decideNextEpoch, decideResumeParams, type ParamChange, type ParamOrigin } from "./epochs.ts";
import type { ParamStore, ParamStoreStatus } from "./store.ts";
import { checkValue, EMPTY_PARAMS, PARAM_TYPES, typeOfValue, type ParamDeclaration, type ParamSet, type ParamType, type ParamValue } from "./types.ts";

/** What a checkpoint recorded (src/state/types.ts keeps them as plain values). */
export interface RecordedParams {
  readonly committed?: RecordedParamSet | undefined;
  readonly firstEpoch?: RecordedParamSet | undefined;
}

export interface RecordedParamSet {
  readonly revision: number;
  readonly values: Readonly<Record<string, unknown>>;
}

/** One entry of a query's parameter history: the value, the bucket revision, when it was seen, the first epoch it ran. */
export interface ParamHistoryEntry extends ParamChange {
  readonly time: string;
  readonly origin: ParamOrigin | "change";
}

export interface QueryParamsStatus extends ParamStoreStatus {
  readonly revision: number;
  readonly values: Readonly<Record<string, ParamValue>>;
}

/**
 * The catalog a worker compiles a placed query with: the types the driver compiled param() with (QueryParams.types()),
 * so both build the same plan. A name the driver did not type is an AnalysisError (the job modules differ).
 */
export function placedParamCatalog(types: Readonly<Record<string, string>>): ParamCatalog {
  return {
    typeOf: (name: string, text: string): DataType => {
      const type = types[name];
      if (type === undefined || !(PARAM_TYPES as readonly string[]).includes(type)) {
        throw new AnalysisError(`Parameter '${name}' in '${text}' has no type from the driver (it typed ${Object.keys(types).map((known) => `'${known}'`).join(", ") || "none"}): start driver and workers with the same job module.`);
      }
      return type as ParamType;
    },
  };
}

/** Keeps this many history entries per query (the dashboard's table). */
const HISTORY_LIMIT = 200;

export class QueryParams {
  private readonly used = new Map<string, ParamType>();
  private inForce: ParamSet = EMPTY_PARAMS;
  private readonly changes: ParamHistoryEntry[] = [];
  private warning: string | undefined;
  /** The values each recent epoch runs with, for its progress report. */
  private readonly byEpoch = new Map<number, ParamSet>();
  /** A fresh checkpointed query's first-epoch values, as written to its checkpoint's metadata. */
  private captured: ParamSet | undefined;

  constructor(
    private readonly store: ParamStore,
    private readonly declarations: ReadonlyMap<string, ParamDeclaration>,
  ) {}

  /** The catalog start() compiles with: a declared type, else the type of the value in the store, else an AnalysisError. */
  catalog(): ParamCatalog {
    return {
      typeOf: (name: string, text: string): DataType => {
        const type = this.declarations.get(name)?.type ?? this.storedType(name);
        if (type === undefined) {
          throw new AnalysisError(`Parameter '${name}' in '${text}' is not declared and has no value in ${this.store.description}. Declare it with session.params.declare('${name}', { type: 'double', default: ... }), or set it with 'rill param set ${name} <value>'.`);
        }
        this.used.set(name, type);
        return type;
      },
    };
  }

  /** The type of each name the query uses, as its expressions were compiled (workers compile with the same). */
  types(): Record<string, ParamType> {
    return Object.fromEntries(this.used);
  }

  get names(): readonly string[] {
    return [...this.used.keys()];
  }

  private storedType(name: string): ParamType | undefined {
    const entry = this.store.entries().get(name);
    return entry === undefined ? undefined : (this.store.types().get(name) ?? typeOfValue(entry.value));
  }

  /**
   * The latest values of the names the query uses: the store's, else the declared default. A store value of the wrong
   * type is not taken: the value in force stays, and status() says why.
   */
  latest(): ParamSet {
    let revision = 0;
    const values: Record<string, ParamValue> = {};
    const warnings: string[] = [];
    for (const [name, type] of this.used) {
      const entry = this.store.entries().get(name);
      const fallback = this.inForce.values[name] ?? this.declarations.get(name)?.default;
      let value = fallback;
      if (entry !== undefined) {
        try {
          value = checkValue(name, type, entry.value);
          revision = Math.max(revision, entry.revision);
        } catch (error) {
          warnings.push(`${error instanceof Error ? error.message : String(error)} (revision ${entry.revision}); ${fallback === undefined ? "it has no value" : `${JSON.stringify(fallback)} stays in force`}`);
        }
      }
      if (value !== undefined) values[name] = value;
    }
    this.warning = warnings.length > 0 ? warnings.join("; ") : undefined;
    return { revision: Math.max(revision, this.inForce.revision), values };
  }

  /** For a new checkpoint location: the values its first epoch will run with, to keep in its metadata. */
  captureFirst(): ParamSet {
    this.captured = this.latestIgnoringInForce();
    return this.captured;
  }

  /**
   * At the start of a run: the values of its first epoch, as recorded in the checkpoint when it ran before (or as
   * captured for a new one); without a checkpoint, the latest.
   */
  begin(firstEpoch: number, recorded: RecordedParams | undefined): ParamSet {
    const facts = recorded ?? (this.captured ? { firstEpoch: this.captured } : undefined);
    const decision = decideResumeParams({
      resume: facts ? { lastCommittedEpoch: firstEpoch - 1 } : undefined,
      committed: this.typed(facts?.committed),
      firstEpoch: this.typed(facts?.firstEpoch),
      latest: this.latestIgnoringInForce(),
    });
    this.inForce = decision.params;
    this.byEpoch.clear();
    this.keep(firstEpoch, decision.params);
    const time = new Date().toISOString();
    for (const [name, value] of Object.entries(decision.params.values)) {
      this.remember({ name, value, revision: decision.params.revision, fromEpoch: firstEpoch, time, origin: decision.added.includes(name) ? "latest" : decision.origin });
    }
    return decision.params;
  }

  /** Barrier `endingEpoch` is being asked for: the values of the epoch after it. */
  next(endingEpoch: number): ParamSet {
    const decision = decideNextEpoch(endingEpoch, this.inForce, this.latest());
    this.inForce = decision.params;
    this.keep(endingEpoch + 1, decision.params);
    const time = new Date().toISOString();
    for (const change of decision.changes) this.remember({ ...change, time, origin: "change" });
    return decision.params;
  }

  /** The values in force (those of the newest epoch started), the store's reachability and any value refused. */
  status(): QueryParamsStatus {
    const store = this.store.status();
    const message = [store.message, this.warning].filter((part) => part !== undefined).join("; ");
    return { connected: store.connected, ...(message === "" ? {} : { message }), revision: this.inForce.revision, values: this.inForce.values };
  }

  /** The values `epoch` ran with, while it is recent (its progress report reads them). */
  valuesOf(epoch: number): ParamSet | undefined {
    return this.byEpoch.get(epoch);
  }

  private keep(epoch: number, params: ParamSet): void {
    this.byEpoch.set(epoch, params);
    for (const old of this.byEpoch.keys()) if (old < epoch - 1000) this.byEpoch.delete(old);
  }

  /** Oldest first. */
  history(): readonly ParamHistoryEntry[] {
    return this.changes;
  }

  private latestIgnoringInForce(): ParamSet {
    this.inForce = EMPTY_PARAMS;
    return this.latest();
  }

  /** Recorded values, kept only where they still have the type the query uses now. */
  private typed(recorded: RecordedParamSet | undefined): ParamSet | undefined {
    if (!recorded) return undefined;
    const values: Record<string, ParamValue> = {};
    for (const [name, type] of this.used) {
      const value = recorded.values[name];
      if (value === undefined) continue;
      try {
        values[name] = checkValue(name, type, value);
      } catch {
        // The parameter's type changed since the checkpoint: the latest value applies (the decision lists it as added).
        continue;
      }
    }
    return { revision: recorded.revision, values };
  }

  private remember(entry: ParamHistoryEntry): void {
    this.changes.push(entry);
    if (this.changes.length > HISTORY_LIMIT) this.changes.splice(0, this.changes.length - HISTORY_LIMIT);
  }
}
