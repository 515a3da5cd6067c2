// Node-RED for the gateway bench: installed on demand into a cache folder outside the repository, run headless with an equivalent flow.
//
// Node-RED is not a dependency of Rill. The bench installs a pinned version with `npm install --prefix` into
// ~/.cache/rill-bench/node-red, without optional dependencies (its only one, @node-rs/bcrypt, is a prebuilt binary)
// and without install scripts, so nothing but JavaScript from the registry lands on the machine. The flow is the
// equivalent of the Rill queries: mqtt in (JSON), one function node (the threshold filter, and a count of the hot
// readings per device and 1 s window that alerts at 5), mqtt out for each.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

export const NODE_RED_VERSION = "4.1.1";
export const NODE_RED_CACHE = join(homedir(), ".cache", "rill-bench", "node-red");

/** The path of Node-RED's red.js, installing it first when missing; or a one-line reason it cannot be had. */
export function ensureNodeRed(log: (line: string) => void): { script: string } | { skipped: string } {
  const script = join(NODE_RED_CACHE, "node_modules", "node-red", "red.js");
  const installed = join(NODE_RED_CACHE, "node_modules", "node-red", "package.json");
  if (existsSync(script) && existsSync(installed) && spawnSync("node", ["-p", `require(${JSON.stringify(installed)}).version`], { encoding: "utf8" }).stdout.trim() === NODE_RED_VERSION) return { script };
  log(`installing node-red@${NODE_RED_VERSION} into ${NODE_RED_CACHE} (npm install --prefix, no optional dependencies, no install scripts; not a dependency of Rill)`);
  const result = spawnSync("npm", ["install", "--prefix", NODE_RED_CACHE, `node-red@${NODE_RED_VERSION}`, "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund", "--no-save"], { encoding: "utf8", timeout: 300_000 });
  if (result.status !== 0 || !existsSync(script)) {
    const reason = (result.stderr || result.error?.message || "").trim().split("\n").pop() ?? "";
    return { skipped: `Node-RED skipped: npm install of node-red@${NODE_RED_VERSION} into ${NODE_RED_CACHE} failed (${reason || `exit ${result.status}`})` };
  }
  return { script };
}

/** The function node's body: the threshold filter on output 1, an alert on output 2 when a device's window reaches 5 hot readings. */
const FUNCTION = `
const reading = msg.payload;
if (!(reading.celsius > 90)) return null;
let windows = context.get("windows");
if (!windows) { windows = new Map(); context.set("windows", windows); }
const start = Math.floor(reading.sentAt / 1000) * 1000;
const key = start + "|" + reading.device;
const count = (windows.get(key) || 0) + 1;
windows.set(key, count);
if (windows.size > 1000) for (const old of windows.keys()) if (Number(old.split("|")[0]) < start - 2000) windows.delete(old);
const hot = { payload: { device: reading.device, celsius: reading.celsius, seq: reading.seq, sentAt: reading.sentAt } };
return [hot, count === 5 ? { payload: { device: reading.device, window: start, count } } : null];
`;

/** Writes the settings and the flow for a broker on `port` into `folder`; returns the settings file. */
export async function writeNodeRedFlow(folder: string, port: number): Promise<string> {
  await mkdir(folder, { recursive: true });
  const broker = { id: "broker", type: "mqtt-broker", name: "bench", broker: "127.0.0.1", port: String(port), clientid: "rill-bench-node-red", autoConnect: true, usetls: false, protocolVersion: "4", keepalive: "60", cleansession: true, autoUnsubscribe: true };
  const flow = [
    { id: "tab", type: "tab", label: "gateway bench" },
    broker,
    { id: "in", type: "mqtt in", z: "tab", topic: "sensors/+/reading", qos: "0", datatype: "json", broker: "broker", nl: false, rap: true, rh: 0, inputs: 0, wires: [["fn"]] },
    { id: "fn", type: "function", z: "tab", name: "threshold and window", func: FUNCTION, outputs: 2, wires: [["hot"], ["alert"]] },
    { id: "hot", type: "mqtt out", z: "tab", topic: "out/hot", qos: "0", retain: "false", broker: "broker", wires: [] },
    { id: "alert", type: "mqtt out", z: "tab", topic: "out/alerts", qos: "0", retain: "false", broker: "broker", wires: [] },
  ];
  await writeFile(join(folder, "flows.json"), JSON.stringify(flow, null, 2));
  const settings = join(folder, "settings.cjs");
  await writeFile(settings, `module.exports = ${JSON.stringify({ flowFile: "flows.json", userDir: folder, httpAdminRoot: false, httpNodeRoot: false, disableEditor: true, uiHost: "127.0.0.1", uiPort: 0, credentialSecret: false, logging: { console: { level: "warn", metrics: false, audit: false } }, externalModules: { autoInstall: false } }, null, 2)};\n`);
  return settings;
}
