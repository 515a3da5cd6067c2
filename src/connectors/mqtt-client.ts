// The one module that imports MQTT.js: connects with the connector's settings, holds QoS 1/2 acknowledgements until released.
//
// MQTT.js acknowledges a QoS 1 message (PUBACK) or accepts a QoS 2 one (PUBREC) as soon as it is handled, and its
// `customHandleAcks` hook stops reading the socket until the answer is given, so a held ack would hold every later
// message back too. This module instead lets MQTT.js read on and keeps the PUBACK/PUBREC packets it would write, per
// packet id, until the source releases them (after the epoch holding the message has committed). Until then the
// broker keeps the message in the session and sends it again after a reconnect, so a crash redelivers it.
import { readFileSync } from "node:fs";
import type { IClientOptions, IPublishPacket, MqttClient, Packet } from "mqtt";
import { TransportError } from "../core/errors.ts";

export type MqttQos = 0 | 1 | 2;

export interface MqttTls {
  /** Paths of PEM files. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

export interface MqttConnectionSettings {
  /** mqtt://, mqtts://, ws:// or wss://, without credentials. */
  readonly url: string;
  readonly clientId: string;
  /** false: a persistent session (the broker keeps subscriptions and QoS 1/2 messages while the client is away). */
  readonly clean: boolean;
  readonly protocolVersion: 4 | 5;
  /** MQTT 5: how long the broker keeps the session after a disconnect (seconds). */
  readonly sessionExpirySeconds: number;
  /** MQTT 5: unacknowledged QoS 1/2 messages the broker may send before it waits (the broker may cap it). */
  readonly receiveMaximum: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: MqttTls;
  readonly connectTimeoutMs: number;
}

/** A PUBLISH as the source sees it. */
export interface MqttMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: MqttQos;
  /** The broker marked it as sent before (after a reconnect). */
  readonly dup: boolean;
  /** QoS 1/2 with held acks: what to hand to release() once the message is safe. */
  readonly ack: HeldAck | undefined;
}

/** One held acknowledgement. An object, not the packet id: the id means another message once the broker forgets a session. */
export interface HeldAck {
  readonly messageId: number;
  packet?: Packet;
  /** Released before MQTT.js produced its ack: write it as soon as it does. */
  released: boolean;
}

type SendPacket = (packet: Packet, callback?: (error?: Error) => void, ...rest: unknown[]) => void;

/** One MQTT client; with `holdAcks`, QoS 1/2 acknowledgements wait for release(). */
export class MqttConnection {
  private readonly held = new Map<number, HeldAck>();
  private readonly sendPacket: SendPacket;
  /** Messages dropped because the broker sent again a message this run still holds unacknowledged. */
  redeliveriesDropped = 0;
  /** When the connection was lost (ms, Date.now()), while MQTT.js tries to reconnect; undefined while connected. */
  private disconnectedSince: number | undefined;
  /** The client's last error (a refused reconnect, a protocol error), for the failure that reports a lost broker. */
  private lastError: Error | undefined;
  /** While paused, MQTT.js's callbacks for handled messages, held: it reads no further packet until they are called. */
  private paused = false;
  private heldCallbacks: (() => void)[] = [];
  /** Times the reader paused the connection (a reader that fell behind). */
  pauses = 0;

  private constructor(private readonly client: MqttClient, private readonly settings: MqttConnectionSettings, holdAcks: boolean, onMessage: ((message: MqttMessage) => void) | undefined) {
    const internals = client as unknown as { _sendPacket: SendPacket };
    this.sendPacket = internals._sendPacket.bind(client);
    if (holdAcks) {
      internals._sendPacket = (packet, callback, ...rest) => {
        if ((packet.cmd === "puback" || packet.cmd === "pubrec") && packet.messageId !== undefined) {
          this.hold(packet.messageId, packet);
          callback?.();
          return;
        }
        this.sendPacket(packet, callback, ...rest);
      };
    }
    client.on("close", () => {
      this.disconnectedSince ??= Date.now();
    });
    client.on("connect", (connack) => {
      this.disconnectedSince = undefined;
      // A session the broker did not keep: the held packet ids mean nothing to it any more, and it may give them to new messages.
      if (!connack.sessionPresent) this.held.clear();
      for (const entry of [...this.held.values()]) if (entry.released) this.write(entry);
    });
    // MQTT.js's hook for backpressure: it handles the next packet only once this callback was called, so a held
    // callback stops reading the socket, and TCP pushes back on the broker (QoS 0 has no other flow control).
    client.handleMessage = (_packet, callback) => {
      if (this.paused) this.heldCallbacks.push(() => callback());
      else callback();
    };
    if (onMessage) {
      client.on("packetreceive", (packet) => {
        if (packet.cmd !== "publish") return;
        const publish = packet as IPublishPacket;
        const qos = publish.qos;
        const messageId = qos > 0 ? publish.messageId : undefined;
        if (messageId !== undefined && holdAcks) {
          // The broker never reuses a packet id that is still unacknowledged: the same id again is the same message sent again.
          if (this.held.has(messageId)) {
            this.redeliveriesDropped++;
            return;
          }
        }
        const ack: HeldAck | undefined = messageId !== undefined && holdAcks ? { messageId, released: false } : undefined;
        if (ack) this.held.set(ack.messageId, ack);
        const payload = typeof publish.payload === "string" ? Buffer.from(publish.payload) : publish.payload;
        onMessage({ topic: publish.topic, payload, qos, dup: publish.dup, ack });
      });
    }
  }

  /** Connects (rejecting with a TransportError naming the broker when it cannot within the timeout). */
  static async connect(settings: MqttConnectionSettings, options: { holdAcks: boolean; onMessage?: (message: MqttMessage) => void }): Promise<MqttConnection> {
    // Loaded on first use: a process without an MQTT query does not pay for MQTT.js (about 4 MB RSS, ARCHITECTURE.md "Memory footprint").
    const { default: mqtt } = await import("mqtt");
    const client = mqtt.connect(settings.url, clientOptions(settings));
    const connection = new MqttConnection(client, settings, options.holdAcks, options.onMessage);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no CONNACK within ${settings.connectTimeoutMs} ms`)), settings.connectTimeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        client.removeListener("connect", done);
        client.end(true);
        reject(new TransportError(`Cannot connect to the MQTT broker at ${settings.url} as client '${settings.clientId}': ${error.message}${tlsHint(error)}`, { cause: error }));
      };
      const done = (): void => {
        clearTimeout(timer);
        client.removeListener("error", fail);
        resolve();
      };
      client.once("connect", done);
      client.once("error", fail);
    });
    // MQTT.js reconnects by itself after an error; the error is kept, and checkConnected() fails the query once the
    // broker has been away longer than the connect timeout.
    client.on("error", (error) => {
      connection.lastError = error;
    });
    return connection;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Throws a TransportError when the broker has been unreachable for longer than the connect timeout. */
  checkConnected(): void {
    const since = this.disconnectedSince;
    if (since === undefined || Date.now() - since <= this.settings.connectTimeoutMs) return;
    const cause = this.lastError ? `: ${this.lastError.message}` : "";
    throw new TransportError(`Lost the MQTT broker at ${this.settings.url} (client '${this.settings.clientId}') ${Math.round((Date.now() - since) / 1000)} s ago and could not reconnect${cause}.`, { cause: this.lastError });
  }

  /** Subscribes to every filter at `qos`; rejects when the broker refuses one. */
  async subscribe(filters: readonly string[], qos: MqttQos): Promise<void> {
    const granted = await this.client.subscribeAsync(filters.map((topic) => topic), { qos });
    const refused = granted.filter((grant) => grant.qos === 128 || grant.qos > 2);
    if (refused.length > 0) throw new TransportError(`The MQTT broker at ${this.settings.url} refused the subscription to ${refused.map((grant) => `'${grant.topic}'`).join(", ")}.`);
  }

  /** Resolves when the broker has the message (MQTT 5: with the user properties) (QoS 1 and 2) or when it is written (QoS 0). */
  async publish(topic: string, payload: Uint8Array, qos: MqttQos, retain: boolean, userProperties?: Record<string, string>): Promise<void> {
    const properties = userProperties && this.settings.protocolVersion === 5 ? { properties: { userProperties } } : {};
    await this.client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos, retain, ...properties });
  }

  /** Acknowledges the held messages: the broker forgets them. An ack of a session the broker dropped is ignored. */
  release(acks: readonly HeldAck[]): void {
    for (const ack of acks) {
      if (this.held.get(ack.messageId) !== ack) continue;
      ack.released = true;
      if (ack.packet && this.client.connected) this.write(ack);
    }
  }

  /**
   * Stops reading after the message being handled: no packet is read until resume(), so the socket fills and the
   * broker holds (or, for QoS 0 past its own limits, drops) what follows. A pause longer than the keep-alive makes
   * MQTT.js reconnect, as after any silence.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.pauses++;
  }

  /** Reads again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const callbacks = this.heldCallbacks;
    this.heldCallbacks = [];
    for (const callback of callbacks) callback();
  }

  /** Messages read and not acknowledged yet. */
  get heldCount(): number {
    return this.held.size;
  }

  /** Disconnects; with `force`, without waiting for what is queued (held acks stay unsent: the broker sends the messages again). */
  async close(force = false): Promise<void> {
    await this.client.endAsync(force);
  }

  private hold(messageId: number, packet: Packet): void {
    const entry = this.held.get(messageId);
    if (!entry) return; // the ack of a message this connection did not hand out (a QoS 2 PUBREC repeated): let it go
    entry.packet ??= packet;
    if (entry.released && this.client.connected) this.write(entry);
  }

  private write(entry: HeldAck): void {
    if (!entry.packet) return;
    this.held.delete(entry.messageId);
    this.sendPacket(entry.packet);
  }
}

/** Node's codes for a server certificate it did not accept. */
const CERTIFICATE_ERRORS = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "ERR_TLS_CERT_ALTNAME_INVALID"]);

/** What to check when the broker's certificate was refused: the CA file and the host name. */
function tlsHint(error: Error): string {
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== "string" || !CERTIFICATE_ERRORS.has(code)) return "";
  return ` (${code}: the broker's TLS certificate was not accepted; option 'tls.ca' must name the PEM file of the CA that signed it, and the host in 'url' must be one the certificate names)`;
}

function clientOptions(settings: MqttConnectionSettings): IClientOptions {
  const tls = settings.tls;
  return {
    clientId: settings.clientId,
    clean: settings.clean,
    protocolVersion: settings.protocolVersion,
    connectTimeout: settings.connectTimeoutMs,
    reconnectPeriod: 1000,
    resubscribe: true,
    // Without this, mqtt-packet fills a cache of 65,536 two-byte Buffers (one per packet id) at the first packet: about
    // 6 MB of heap held for the life of the process, and 65k more objects for every major GC to mark. Packet ids are
    // then written as a fresh 2-byte Buffer per QoS 1/2 packet instead.
    writeCache: false,
    ...(settings.protocolVersion === 5 ? { properties: { sessionExpiryInterval: settings.clean ? 0 : settings.sessionExpirySeconds, receiveMaximum: settings.receiveMaximum } } : {}),
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
    ...(tls === undefined
      ? {}
      : {
          rejectUnauthorized: tls.rejectUnauthorized,
          ...(tls.ca === undefined ? {} : { ca: readFileSync(tls.ca) }),
          ...(tls.cert === undefined ? {} : { cert: readFileSync(tls.cert) }),
          ...(tls.key === undefined ? {} : { key: readFileSync(tls.key) }),
        }),
  };
}
