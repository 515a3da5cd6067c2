// Test helper: a query's dead letters as they come, read over a NATS connection of their own.
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { NatsOptions } from "../../src/index.ts";

export interface DeadLetterWatch<L> {
  /** The letters so far, in the order they came. */
  readonly letters: L[];
  /** Resolves when `expected` letters have come, or after 20 s (a missing letter then fails the count, not a timeout). */
  arrived(): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes to the dead letters of the query `name` (`rill.<name>.deadletter`); ready once the server has the subscription. */
export async function watchDeadLetters<L>(nats: NatsOptions, name: string, expected: number): Promise<DeadLetterWatch<L>> {
  const watcher = await NatsTransport.connect(nats);
  const letters: L[] = [];
  let lettersArrived: () => void = () => undefined;
  const allLetters = new Promise<void>((resolve) => (lettersArrived = resolve));
  watcher.subscribe(`rill.${name}.deadletter`, (payload) => {
    letters.push(JSON.parse(new TextDecoder().decode(payload)) as L);
    if (letters.length >= expected) lettersArrived();
  });
  await watcher.flush();
  return {
    letters,
    arrived: async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([allLetters, new Promise<void>((resolve) => (timer = setTimeout(resolve, 20_000)))]);
      clearTimeout(timer);
    },
    close: () => watcher.close(),
  };
}
