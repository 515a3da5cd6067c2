// One contract suite for both transports: what actors rely on (order, wildcards, unsubscribe, flush).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { InProcessTransport } from "../../src/actors/inprocess-transport.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import type { Transport } from "../../src/actors/transport.ts";
import { useNatsServer } from "../helpers/nats.ts";

const server = useNatsServer();

const implementations: Array<[string, () => Promise<Transport>]> = [
  ["in-process", async () => new InProcessTransport()],
  ["NATS", async () => await NatsTransport.connect(server().options)],
];

for (const [name, create] of implementations) {
  describe(`the ${name} transport`, () => {
    let transport: Transport;
    before(async () => {
      transport = await create();
    });
    after(async () => {
      await transport.close();
    });

    it("delivers one publisher's messages in order", async () => {
      const seen: number[] = [];
      const done = new Promise<void>((resolve) => {
        transport.subscribe("order.test", (payload) => {
          seen.push(payload[0] as number);
          if (seen.length === 200) resolve();
        });
      });
      await transport.flush();
      for (let index = 0; index < 200; index++) transport.publish("order.test", new Uint8Array([index % 256]));
      await done;
      assert.deepEqual(seen, Array.from({ length: 200 }, (_, index) => index % 256));
    });

    it("matches * and > wildcards as NATS does", async () => {
      const subjects: string[] = [];
      const star = transport.subscribe("wild.*.end", (_payload, subject) => subjects.push(`*:${subject}`));
      const rest = transport.subscribe("wild.>", (_payload, subject) => subjects.push(`>:${subject}`));
      // A literal subject gets its own subject (the NATS transport passes the subscribed one, without decoding it).
      const exact = transport.subscribe("wild.a.end", (_payload, subject) => subjects.push(`=:${subject}`));
      await transport.flush();
      for (const subject of ["wild.a.end", "wild.a.b.end", "wild.x", "other.a.end"]) transport.publish(subject, new Uint8Array([1]));
      await transport.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      star.unsubscribe();
      rest.unsubscribe();
      exact.unsubscribe();
      assert.deepEqual(subjects.sort(), ["*:wild.a.end", "=:wild.a.end", ">:wild.a.b.end", ">:wild.a.end", ">:wild.x"]);
    });

    it("stops delivering after unsubscribe", async () => {
      let count = 0;
      const subscription = transport.subscribe("unsub.test", () => count++);
      await transport.flush();
      transport.publish("unsub.test", new Uint8Array([1]));
      await transport.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      subscription.unsubscribe();
      await transport.flush();
      transport.publish("unsub.test", new Uint8Array([2]));
      await transport.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(count, 1);
    });
  });
}
