// In-process transport: same interface as NATS, delivered on a microtask; the baseline for what NATS costs.
import { guardHandler, type MessageHandler, type RejectedHandler, type Subscription, type Transport } from "./transport.ts";

interface Entry {
  readonly tokens: string[];
  readonly handler: MessageHandler;
  active: boolean;
}

export class InProcessTransport implements Transport {
  readonly kind = "inprocess" as const;
  readonly address = "in-process";
  readonly maxPayload = Number.POSITIVE_INFINITY;
  private readonly exact = new Map<string, Entry[]>();
  private readonly wildcards: Entry[] = [];
  private queue: Array<[Entry, Uint8Array, string]> = [];
  private scheduled = false;
  private closed = false;
  private readonly rejectedCallbacks: RejectedHandler[] = [];

  publish(subject: string, payload: Uint8Array): void {
    if (this.closed) return;
    for (const entry of this.exact.get(subject) ?? []) this.queue.push([entry, payload, subject]);
    if (this.wildcards.length > 0) {
      const tokens = subject.split(".");
      for (const entry of this.wildcards) if (matches(entry.tokens, tokens)) this.queue.push([entry, payload, subject]);
    }
    if (!this.scheduled && this.queue.length > 0) {
      this.scheduled = true;
      queueMicrotask(this.deliver);
    }
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    const tokens = subject.split(".");
    const entry: Entry = { tokens, handler: guardHandler(handler, this.rejectedCallbacks), active: true };
    const wildcard = tokens.includes("*") || tokens.includes(">");
    if (wildcard) this.wildcards.push(entry);
    else this.exact.set(subject, [...(this.exact.get(subject) ?? []), entry]);
    return {
      unsubscribe: () => {
        entry.active = false;
        if (wildcard) this.wildcards.splice(this.wildcards.indexOf(entry), 1);
        else this.exact.set(subject, (this.exact.get(subject) ?? []).filter((other) => other !== entry));
      },
    };
  }

  async flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  onFailure(_callback: (error: Error) => void): void {
    // An in-process transport has no connection to lose.
  }

  onRejected(callback: RejectedHandler): void {
    this.rejectedCallbacks.push(callback);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (const [entry, payload, subject] of queue) if (entry.active) entry.handler(payload, subject);
  };
}

function matches(pattern: string[], tokens: string[]): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const token = pattern[index];
    if (token === ">") return tokens.length > index;
    if (index >= tokens.length) return false;
    if (token !== "*" && token !== tokens[index]) return false;
  }
  return pattern.length === tokens.length;
}
