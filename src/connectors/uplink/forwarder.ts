// The store-and-forward forwarder: drains the LMDB outbox to the MQTT broker in order, removing messages only once acked.
//
// It publishes a window of the oldest queued messages (QoS 1/2) and waits for every PUBACK/PUBCOMP before it removes
// them and takes the next window. While the broker is away it publishes nothing new; MQTT.js sends the window's
// unacknowledged messages again, first, once it reconnects, so the order holds. A crash between the broker's ack and
// the removal sends those messages again: at-least-once at the far end, which de-duplicates on the message id
// (the MQTT 5 user property `rill-id`).
import type { Outbox, QueuedMessage } from "../../state/lmdb-outbox.ts";
import { MqttConnection, type MqttConnectionSettings, type MqttQos } from "../mqtt-client.ts";

/** Messages published before the forwarder waits for their acks. */
export const FORWARD_WINDOW = 200;
/** How often the forwarder looks again while the broker is away (ms). */
const RETRY_MS = 250;

export interface ForwarderSettings {
  readonly connection: MqttConnectionSettings;
  readonly qos: MqttQos;
  readonly retain: boolean;
}

export class Forwarder {
  private connection: MqttConnection | undefined;
  private stopped = false;
  /** Resolves at stop(): a window waiting for acks stops waiting (MQTT.js leaves the publishes of a forced close pending). */
  private readonly stopping: Promise<void>;
  private signalStop: () => void = () => undefined;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly drainedWaiters: (() => void)[] = [];
  /** Messages the broker acknowledged since the forwarder started. */
  delivered = 0;

  constructor(private readonly outbox: Outbox, private readonly settings: ForwarderSettings) {
    this.stopping = new Promise((resolve) => (this.signalStop = resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Something was queued: look now instead of at the next retry. */
  notify(): void {
    this.wakeUp?.();
  }

  /** Resolves the next time delivered messages leave the queue (or the forwarder stops). */
  drained(): Promise<void> {
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    this.notify();
    // A forced close: MQTT.js rejects the publishes still waiting for acks; they stay queued for the next run.
    await this.connection?.close(true).catch(() => undefined);
    await this.running;
    this.connection = undefined;
    for (const waiter of this.drainedWaiters.splice(0)) waiter();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const connection = this.connection ?? (await this.connect());
      if (!connection) {
        await this.pause(RETRY_MS);
        continue;
      }
      const window = this.outbox.peek(FORWARD_WINDOW);
      if (window.length === 0) {
        await this.pause(RETRY_MS);
        continue;
      }
      if (!connection.connected) {
        await this.pause(RETRY_MS);
        continue;
      }
      if (!(await this.publish(connection, window))) continue;
      if (this.stopped) break;
      await this.outbox.remove(window);
      this.delivered += window.length;
      for (const waiter of this.drainedWaiters.splice(0)) waiter();
    }
  }

  /** True when the broker acknowledged the whole window. */
  private async publish(connection: MqttConnection, window: readonly QueuedMessage[]): Promise<boolean> {
    const { qos, retain } = this.settings;
    try {
      const published = Promise.all(window.map((message) => connection.publish(message.topic, message.payload, qos, retain, { "rill-id": message.id })));
      published.catch(() => undefined);
      await Promise.race([published, this.stopping]);
      return !this.stopped;
    } catch {
      // Stopping, or a publish the client gave up on: the window stays queued and goes again.
      if (!this.stopped) await this.pause(RETRY_MS);
      return false;
    }
  }

  private async connect(): Promise<MqttConnection | undefined> {
    try {
      this.connection = await MqttConnection.connect(this.settings.connection, { holdAcks: false });
      if (this.stopped) await this.connection.close(true);
      return this.connection;
    } catch {
      return undefined;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
