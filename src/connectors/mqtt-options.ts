// What the MQTT source and sink share: the connection options (broker URL, client id, session, credentials, TLS), checked at start().
import { accessSync, constants } from "node:fs";
import { z } from "zod";
import type { MqttConnectionSettings, MqttQos, MqttTls } from "./mqtt-client.ts";
import type { ConnectorOptions } from "./options.ts";

/** Options every MQTT connector takes. */
export const MQTT_CONNECTION_OPTIONS = [
  "url", "clientId", "cleanSession", "protocolVersion", "sessionExpiry", "receiveMaximum", "username", "password",
  "tls.ca", "tls.cert", "tls.key", "tls.rejectUnauthorized", "connectTimeout",
] as const;

const MQTT_SCHEMES = ["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "ssl:"];

/** The URL as a zod schema: a broker address with a scheme MQTT.js speaks. */
const brokerUrl = z.url({ protocol: /^(mqtts?|wss?|tcp|ssl)$/ });

/** The broker URL without credentials (safe to print), and credentials written in it. */
export function parseBrokerUrl(options: ConnectorOptions): { url: string; username?: string; password?: string } {
  const text = options.requiredString("url", "the broker's URL, e.g. 'mqtt://127.0.0.1:1883' or 'mqtts://broker:8883'").trim();
  const checked = brokerUrl.safeParse(text);
  if (!checked.success) throw options.invalid("url", text.replace(/\/\/[^@/]*@/, "//***@"), `a broker URL with one of ${MQTT_SCHEMES.map((scheme) => `${scheme}//`).join(", ")}, e.g. 'mqtt://127.0.0.1:1883'`);
  const url = new URL(text);
  const username = url.username === "" ? undefined : decodeURIComponent(url.username);
  const password = url.password === "" ? undefined : decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  return { url: url.toString().replace(/\/$/, ""), ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

/** The connection settings of an MQTT connector; `defaultClientId` when the user gives none. */
export function connectionSettings(options: ConnectorOptions, defaultClientId: string): MqttConnectionSettings {
  const broker = parseBrokerUrl(options);
  const clientId = options.string("clientId") ?? defaultClientId;
  if (clientId.trim() === "" || clientId.length > 65535) throw options.invalid("clientId", clientId, "a non-empty client id, e.g. 'rill-gateway-1'");
  const protocol = options.choice("protocolVersion", ["5", "3.1.1"] as const, "5");
  const username = options.string("username") ?? broker.username;
  const password = options.string("password") ?? broker.password;
  if (password !== undefined && username === undefined) throw options.invalid("password", "***", "given together with option 'username'");
  return {
    url: broker.url,
    clientId,
    clean: options.boolean("cleanSession", false),
    protocolVersion: protocol === "5" ? 5 : 4,
    sessionExpirySeconds: Math.floor(options.duration("sessionExpiry", 7 * 24 * 3600 * 1000) / 1000),
    receiveMaximum: options.number("receiveMaximum", 65535, { min: 1, max: 65535, integer: true }),
    connectTimeoutMs: options.duration("connectTimeout", 30_000, 100),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...tlsSettings(options, broker.url),
  };
}

function tlsSettings(options: ConnectorOptions, url: string): { tls?: MqttTls } {
  const files = { ca: options.string("tls.ca"), cert: options.string("tls.cert"), key: options.string("tls.key") };
  const anyTls = files.ca !== undefined || files.cert !== undefined || files.key !== undefined || options.has("tls.rejectUnauthorized");
  if (!anyTls) return {};
  if (!/^(mqtts|wss|ssl):/.test(url)) throw options.invalid("url", url, "an mqtts:// (or wss://) URL when TLS options are given");
  if ((files.cert === undefined) !== (files.key === undefined)) throw options.invalid(files.cert === undefined ? "tls.key" : "tls.cert", files.cert ?? files.key ?? "", "given together with the other of 'tls.cert' and 'tls.key' (a client certificate needs its key)");
  for (const name of ["ca", "cert", "key"] as const) {
    const path = files[name];
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw options.invalid(`tls.${name}`, path, "the path of a readable PEM file");
    }
  }
  return {
    tls: {
      rejectUnauthorized: options.boolean("tls.rejectUnauthorized", true),
      ...(files.ca === undefined ? {} : { ca: files.ca }),
      ...(files.cert === undefined ? {} : { cert: files.cert }),
      ...(files.key === undefined ? {} : { key: files.key }),
    },
  };
}

export function qosOption(options: ConnectorOptions, fallback: MqttQos): MqttQos {
  return options.number("qos", fallback, { min: 0, max: 2, integer: true }) as MqttQos;
}

/** Why a topic filter (`wildcards`) or a topic to publish to is wrong, or undefined. */
export function topicProblem(topic: string, wildcards: boolean): string | undefined {
  if (topic === "") return "a topic is not empty";
  if (topic.includes("\u0000")) return "a topic has no NUL character";
  if (Buffer.byteLength(topic) > 65535) return "a topic is at most 65,535 bytes";
  const levels = topic.split("/");
  if (!wildcards) return levels.some((level) => level.includes("+") || level.includes("#")) ? "a published topic has no wildcards ('+', '#')" : undefined;
  for (const [index, level] of levels.entries()) {
    if (level.includes("+") && level !== "+") return "'+' fills a whole level, e.g. 'sensors/+/temp'";
    if (level.includes("#") && (level !== "#" || index !== levels.length - 1)) return "'#' is a whole last level, e.g. 'sensors/#'";
  }
  return undefined;
}
