// Where parameter values live: the interface, and the in-memory store a session without NATS uses.
import type { ParamType, ParamValue } from "./types.ts";

/** One parameter's value in the store, with the revision and time it was written. */
export interface ParamEntry {
  readonly name: string;
  readonly value: ParamValue;
  readonly revision: number;
  readonly time: string;
}

export interface ParamStoreStatus {
  /** False while the bucket cannot be reached: the last values known stay in force. */
  readonly connected: boolean;
  /** Why, when it is not (or why an entry was not taken). */
  readonly message?: string;
}

export interface ParamStore {
  /** For messages: where the values live. */
  readonly description: string;
  /** Every value known now, by name. */
  entries(): ReadonlyMap<string, ParamEntry>;
  /** Types written by declarations (the CLI checks a new value against them). */
  types(): ReadonlyMap<string, ParamType>;
  /** Writes a value; resolves to its revision. Rejects when the store cannot be reached. */
  put(name: string, value: ParamValue): Promise<number>;
  /** Records a declared type beside the values (best effort: the declaration holds in the session anyway). */
  declareType(name: string, type: ParamType): Promise<void>;
  status(): ParamStoreStatus;
  /** Called after each change seen (a put here or elsewhere). */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

export class MemoryParamStore implements ParamStore {
  readonly description = "the session's memory (no NATS configured)";
  private readonly values = new Map<string, ParamEntry>();
  private readonly declared = new Map<string, ParamType>();
  private readonly listeners: Array<() => void> = [];
  private revision = 0;

  entries(): ReadonlyMap<string, ParamEntry> {
    return this.values;
  }

  types(): ReadonlyMap<string, ParamType> {
    return this.declared;
  }

  put(name: string, value: ParamValue): Promise<number> {
    const revision = ++this.revision;
    this.values.set(name, { name, value, revision, time: new Date().toISOString() });
    for (const listener of this.listeners) listener();
    return Promise.resolve(revision);
  }

  declareType(name: string, type: ParamType): Promise<void> {
    this.declared.set(name, type);
    return Promise.resolve();
  }

  status(): ParamStoreStatus {
    return { connected: true };
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
