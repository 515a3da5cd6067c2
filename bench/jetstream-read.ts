// Reading a JetStream stream through a query, with and without a wildcard subject filter: rows/s from start to the last row.
// `npx tsx bench/jetstream-read.ts --messages 50000 --rounds 2` (starts its own nats-server with JetStream).
import { parseArgs } from "node:util";
import { NatsTransport } from "../src/actors/nats-transport.ts";
import { Session, startNatsServer, z } from "../src/index.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "50000" },
    rounds: { type: "string", default: "2" },
    epoch: { type: "string", default: "200 milliseconds" },
  },
});
const MESSAGES = Number(values.messages);
const DEVICES = 10;

const server = await startNatsServer();
const transport = await NatsTransport.connect(server.options);
const session = Session.builder().appName("jetstream-read").nats(server.options).log(() => undefined).getOrCreate();
try {
  const access = transport.jetstream();
  await access.addStream({ name: "READ", subjects: ["read.>"] });
  const encoder = new TextEncoder();
  for (let first = 0; first < MESSAGES; first += 1000) {
    const batch = Array.from({ length: Math.min(1000, MESSAGES - first) }, (_, index) => first + index);
    await Promise.all(batch.map((value) => access.publish(`read.d${value % DEVICES}.x`, encoder.encode(JSON.stringify({ device: `d${value % DEVICES}`, value })))));
  }
  const schema = z.object({ device: z.string(), value: z.number() });
  let run = 0;
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const filter of [undefined, "read.*.x"]) {
      const name = `read_${run++}`;
      const started = performance.now();
      let reader = session.readStream.format("jetstream").option("stream", "READ").schema(schema);
      if (filter !== undefined) reader = reader.option("subject", filter);
      const query = await reader.load().groupBy("device").count().writeStream.queryName(name).format("memory").outputMode("complete")
        .trigger({ continuous: values.epoch }).start();
      await query.processAllAvailable();
      const seconds = (performance.now() - started) / 1000;
      const total = session.table(name).reduce((sum, row) => sum + (row.count as number), 0);
      if (total !== MESSAGES) throw new Error(`read ${total} of ${MESSAGES} rows ${filter ?? "without a filter"}`);
      await query.stop();
      console.log(`${filter === undefined ? "no filter      " : `filter ${filter}`}: ${MESSAGES} rows in ${seconds.toFixed(2)} s = ${Math.round(MESSAGES / seconds)} rows/s (epochs of ${values.epoch})`);
    }
  }
} finally {
  await session.stop();
  await transport.close();
  await server.stop();
}
