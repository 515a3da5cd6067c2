// The gateway bench's receiver: subscribes to the SUT's output, checks every forwarded reading and times it from publish to receipt.
import mqtt from "mqtt";

/** The bench's MQTT subscriber: checks and times the forwarded readings of the current run. */
export class Receiver {
  private first = 0;
  private total = 0;
  private latencies: number[] = [];
  private seen = new Set<number>();
  private lastArrival = 0;
  /** The last message of any run, stragglers included. */
  private lastAny = 0;
  private probeSeen = false;
  /** What was wrong with the SUT's answers (a reading forwarded that is not above the threshold, or twice). */
  readonly wrong: string[] = [];
  alerts = 0;

  private constructor(private readonly client: mqtt.MqttClient) {
    client.on("message", (topic, payload) => this.receive(topic, payload));
  }

  static async connect(url: string): Promise<Receiver> {
    const client = await mqtt.connectAsync(url, { clientId: `rill-bench-receiver-${process.pid}`, clean: true, protocolVersion: 4 });
    await client.subscribeAsync(["out/hot", "out/alerts"], { qos: 0 });
    return new Receiver(client);
  }

  /** Publishes a hot probe reading every 200 ms until the SUT forwards one: the SUT is connected and running. */
  async probe(timeoutMs: number): Promise<void> {
    this.probeSeen = false;
    const deadline = Date.now() + timeoutMs;
    while (!this.probeSeen) {
      if (Date.now() > deadline) throw new Error(`the SUT forwarded no probe reading within ${timeoutMs / 1000} s`);
      this.client.publish("sensors/probe/reading", JSON.stringify({ device: "probe", celsius: 99, seq: -1, sentAt: now() }), { qos: 0 });
      await delay(200);
    }
  }

  begin(first: number, total: number): void {
    this.first = first;
    this.total = total;
    this.latencies = [];
    this.seen = new Set();
    this.lastArrival = Date.now();
  }

  /** Waits until `expected` readings arrived, or none arrived for 3 s, or `timeoutMs` passed. */
  async settle(expected: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.latencies.length < expected && Date.now() < deadline && Date.now() - this.lastArrival < 3000) await delay(50);
  }

  /** Waits until nothing arrived for `quietMs` (at most `timeoutMs`). */
  async quiet(quietMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() - this.lastAny < quietMs && Date.now() < deadline) await delay(100);
  }

  end(): number[] {
    const latencies = this.latencies;
    this.total = 0;
    return latencies.sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private receive(topic: string, payload: Buffer): void {
    const arrival = now();
    this.lastAny = Date.now();
    if (topic === "out/alerts") {
      this.alerts++;
      return;
    }
    const reading = JSON.parse(payload.toString()) as { celsius: number; seq: number; sentAt: number };
    if (reading.seq === -1) {
      this.probeSeen = true;
      return;
    }
    if (reading.seq < this.first || reading.seq >= this.first + this.total) return; // a straggler of an earlier run
    if (!(reading.celsius > 90) || ((reading.seq * 7919) % 1000) / 10 !== reading.celsius) this.wrong.push(`forwarded reading ${reading.seq} with ${reading.celsius} °C, which the filter should have dropped or changed`);
    if (this.seen.has(reading.seq)) {
      this.wrong.push(`reading ${reading.seq} forwarded twice`);
      return;
    }
    this.seen.add(reading.seq);
    this.latencies.push(arrival - reading.sentAt);
    this.lastArrival = Date.now();
  }
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits `ms` (the bench times runs; no event marks their end). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

