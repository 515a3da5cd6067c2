// The gateway bench's publisher process: sensor readings at a fixed rate into an MQTT broker (QoS 0), then a JSON summary on stdout.
//
// Usage: BENCH_BROKER_URL=mqtt://... node publisher.mjs <rate> <seconds> <firstSeq> (the URL may hold credentials). Reading i is deterministic: device d<i % 50>,
// celsius ((i * 7919) % 1000) / 10, so 10% are above the bench's threshold of 90. Each carries `sentAt` (ms, fractional,
// performance.timeOrigin + performance.now()) for the receiver's publish-to-receipt latency. Plain JavaScript run by
// plain node: no loader in the measured processes.
/* global process, console, performance, setTimeout */
import mqtt from "mqtt";

const url = process.env.BENCH_BROKER_URL;
const [rateText, secondsText, firstText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const first = Number(firstText);
const THRESHOLD = 90;
const total = Math.round(rate * seconds);
const client = await mqtt.connectAsync(url, { clientId: `rill-bench-publisher-${process.pid}`, clean: true, protocolVersion: 4, reconnectPeriod: 0 });
const now = () => performance.timeOrigin + performance.now();

let sent = 0;
let hot = 0;
const start = now();
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * rate));
    while (sent < due) {
      const seq = first + sent;
      const celsius = ((seq * 7919) % 1000) / 10;
      if (celsius > THRESHOLD) hot++;
      const device = `d${seq % 50}`;
      client.publish(`sensors/${device}/reading`, `{"device":"${device}","celsius":${celsius},"seq":${seq},"sentAt":${now()}}`, { qos: 0 });
      sent++;
    }
    if (sent >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
const elapsed = (now() - start) / 1000;
await client.endAsync();
console.log(JSON.stringify({ sent, hot, first, seconds: elapsed, achievedRate: Math.round(sent / elapsed) }));
