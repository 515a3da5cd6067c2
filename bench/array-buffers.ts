// Off-heap ArrayBuffers made while one bench point runs, by where they come from: each is a backing store that V8
// frees when a scavenge sweeps the young ArrayBuffers (`scavenge.sweep_array_buffers` in --trace-gc-nvp), so their
// number, not their bytes, is what that phase costs. Counted at the JavaScript calls that make one:
// `TextEncoder.encode` (nats.js encodes every `PUB` line with it), a socket write (nats.js packs what a flush sends
// into a new Uint8Array, then writes it once), a socket read (Node makes a buffer per read), `Buffer.allocUnsafeSlow`
// (msgpackr's and lmdb's buffers) and `new Uint8Array(n)` / `new ArrayBuffer(n)` over 64 bytes from Rill's own code
// is not counted (there is none on the hot path: the column writer's buffer is 256 KB, replaced when full).
// `node --import tsx bench/array-buffers.ts -- --scenario b --mode continuous-nats-checkpoints --rate 10000 --seconds 10`
import { Socket } from "node:net";
import { NatsTransport } from "../src/actors/nats-transport.ts";

const counts = { textEncoderEncode: 0, socketWrites: 0, socketReads: 0, allocUnsafeSlow: 0 };
let published = 0;
const publish = NatsTransport.prototype.publish;
NatsTransport.prototype.publish = function (this: NatsTransport, subject: string, payload: Uint8Array) {
  published++;
  publish.call(this, subject, payload);
};
const encode = TextEncoder.prototype.encode;
TextEncoder.prototype.encode = function (this: InstanceType<typeof TextEncoder>, input?: string) {
  counts.textEncoderEncode++;
  return encode.call(this, input);
};
const write = Socket.prototype.write as (...args: unknown[]) => boolean;
Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
  counts.socketWrites++;
  return write.apply(this, args);
} as typeof Socket.prototype.write;
const push = Socket.prototype.push;
Socket.prototype.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding) {
  if (chunk !== null) counts.socketReads++;
  return push.call(this, chunk, encoding);
};
const allocUnsafeSlow = Buffer.allocUnsafeSlow;
Buffer.allocUnsafeSlow = (size: number) => {
  counts.allocUnsafeSlow++;
  return allocUnsafeSlow(size);
};

const separator = process.argv.indexOf("--");
process.argv = [process.argv[0] as string, process.argv[1] as string, ...(separator < 0 ? [] : process.argv.slice(separator + 1))];
const { parseArgs } = await import("node:util");
const { values } = parseArgs({ strict: false, options: { rate: { type: "string", default: "10000" }, seconds: { type: "string", default: "5" } } });
const inputRows = Number(values.rate) * Number(values.seconds);
await import("./point.ts");
const total = counts.textEncoderEncode + counts.socketWrites + counts.socketReads + counts.allocUnsafeSlow;
console.log(`ArrayBuffers over the whole point (start-up and check included), ${inputRows} input rows:`);
for (const [name, count] of Object.entries(counts)) console.log(`  ${name.padEnd(18)} ${String(count).padStart(9)}  ${(count / inputRows).toFixed(3)} a row`);
console.log(`  ${"total".padEnd(18)} ${String(total).padStart(9)}  ${(total / inputRows).toFixed(3)} a row`);
console.log(`NATS messages published by Rill: ${published}, ${(published / inputRows).toFixed(3)} a row; ArrayBuffers per message ${(total / published).toFixed(2)}`);
