// A store-and-forward message and what it counts for against the queue's bound; apart from the LMDB outbox, which loads on first use.
export interface OutboxMessage {
  /** `<queryId>:<epoch>:<index>`: what a replay reproduces, for the far end to de-duplicate on. */
  readonly id: string;
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** The bytes a message counts for against maxQueueBytes. */
export function messageBytes(message: OutboxMessage): number {
  return message.payload.byteLength + message.topic.length + message.id.length;
}
