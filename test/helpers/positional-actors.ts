// How a running query's actors ran their rows: by position, or named (the tests of rows by position).
import assert from "node:assert/strict";
import { OperatorActor } from "../../src/actors/operator-actor.ts";
import type { QueryRuntime } from "../../src/actors/runtime.ts";
import { SourceActor } from "../../src/actors/source-actor.ts";
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

function runtimeOf(query: StreamingQuery): QueryRuntime {
  return (query as unknown as { runtime: QueryRuntime }).runtime;
}

/** The query's operator actors whose name holds `part` (every one without it). */
export function operatorActorRows(query: StreamingQuery, part?: string): ActorRows[] {
  return runtimeOf(query).actors.filter((actor): actor is OperatorActor => actor instanceof OperatorActor && (part === undefined || actor.name.includes(part)))
    .map((actor) => ({ name: actor.name, positional: actor.runsPositional, byPosition: actor.positionalRows, named: actor.namedFallbackRows }));
}

/** The source actors of a running query, whether each runs by position. */
export function sourcesPositional(query: StreamingQuery): boolean[] {
  return runtimeOf(query).actors.filter((actor): actor is SourceActor => actor instanceof SourceActor).map((actor) => actor.runsPositional);
}

/**
 * Every one of `actors` runs by position and ran no row named, and together they ran rows by position; there are
 * `count` of them, or at least one without it. A failure prints `shown` (the actors by default).
 */
export function assertRanByPosition(actors: readonly ActorRows[], count?: number, shown: unknown = actors): void {
  const message = JSON.stringify(shown);
  assert.ok((count === undefined ? actors.length > 0 : actors.length === count) && actors.every((actor) => actor.positional && actor.named === 0), message);
  assert.ok(actors.reduce((sum, actor) => sum + actor.byPosition, 0) > 0, message);
}

/** No one of `actors` runs by position, nor ran a row by position. */
export function assertRanNamed(actors: readonly ActorRows[], message = JSON.stringify(actors)): void {
  assert.ok(actors.every((actor) => !actor.positional && actor.byPosition === 0), message);
}
