// How a running query's operator actors ran their rows: by position, or named (the tests of rows by position).
import { OperatorActor } from "../../src/actors/operator-actor.ts";
import type { QueryRuntime } from "../../src/actors/runtime.ts";
import type { StreamingQuery } from "../../src/index.ts";

export interface ActorRows {
  readonly name: string;
  /** The actor's stage runs by position. */
  readonly positional: boolean;
  /** Rows it ran by position. */
  readonly byPosition: number;
  /** Rows of frames it ran named although its stage runs by position (another column order, msgpack frames). */
  readonly named: number;
}

/** The query's operator actors whose name holds `part` (every one without it). */
export function operatorActorRows(query: StreamingQuery, part?: string): ActorRows[] {
  const runtime = (query as unknown as { runtime: QueryRuntime }).runtime;
  return runtime.actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor && (part === undefined || actor.name.includes(part)))
    .map((actor) => ({ name: actor.name, positional: actor.runsPositional, byPosition: actor.positionalRows, named: actor.namedFallbackRows }));
}
