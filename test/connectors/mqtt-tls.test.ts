// The MQTT source and sink over TLS with a username and password, against a real Mosquitto with a TLS listener and a password file.
//
// The test makes its own certificate authority and server certificate with openssl, and the password file with
// mosquitto_passwd; without either tool it is skipped with the reason.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import mqtt from "mqtt";
import { z } from "zod";
import { TransportError } from "../../src/core/errors.ts";
import type { Session } from "../../src/index.ts";
import { findMosquitto, MOSQUITTO_MISSING, startMosquitto, type MosquittoHandle } from "../helpers/mosquitto.ts";
import { inProcessSession } from "../helpers/session.ts";

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
const skip = findMosquitto() === undefined ? MOSQUITTO_MISSING
  : !has("openssl") ? "openssl is not installed (apt-get install openssl): the test makes its certificates with it"
  : !has("mosquitto_passwd") ? "mosquitto_passwd is not installed (it comes with the mosquitto package)"
  : false;

/** start() reports a connector's failure as a StreamingQueryError whose cause is the connector's TransportError. */
function transportCause(error: Error): boolean {
  return error.name === "StreamingQueryError" && error.cause instanceof TransportError;
}

const USER = "gateway";
const PASSWORD = "s3cret-reading";
const reading = z.object({ device: z.string(), celsius: z.number() });

/** A CA, a server certificate it signed for 127.0.0.1, and an unrelated CA: PEM files in `folder`. */
function makeCertificates(folder: string): void {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: folder, stdio: "pipe" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=rill test CA");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.cnf");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=some other CA");
}

describe("mqtt source and sink over TLS with a password", { skip }, () => {
  let folder: string;
  let broker: MosquittoHandle;
  let session: Session;
  let ca: Buffer;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "rill-mqtt-tls-"));
    await writeFile(join(folder, "san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    makeCertificates(folder);
    execFileSync("mosquitto_passwd", ["-b", "-c", join(folder, "passwords"), USER, PASSWORD], { stdio: "pipe" });
    ca = await readFile(join(folder, "ca.crt"));
    broker = await startMosquitto({ tls: { cert: join(folder, "server.crt"), key: join(folder, "server.key") }, passwordFile: join(folder, "passwords") });
    session = inProcessSession();
  });
  after(async () => {
    await session?.stop();
    await broker?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  const connection = (extra: Record<string, string> = {}): Record<string, string> => ({ url: broker.url, "tls.ca": join(folder, "ca.crt"), username: USER, password: PASSWORD, ...extra });

  it("reads and writes over TLS, checked against the CA given in tls.ca, logged in with the password", async () => {
    assert.match(broker.url, /^mqtts:\/\//);
    const client = await mqtt.connectAsync(broker.url, { ca, username: USER, password: PASSWORD, clientId: "tls-test-client" });
    try {
      await client.subscribeAsync("out/hot", { qos: 1 });
      const received: Array<z.infer<typeof reading>> = [];
      client.on("message", (_topic, payload) => received.push(JSON.parse(payload.toString()) as z.infer<typeof reading>));
      const source = session.readStream.format("mqtt").schema(reading).options(connection({ topic: "plant/+/temperature", qos: "1", clientId: "tls-test-reader" })).load();
      const query = await source.where("celsius > 80").select("device", "celsius").writeStream.format("mqtt").options(connection({ topic: "out/hot", qos: "1", clientId: "tls-test-writer" })).start();
      const sent = Array.from({ length: 40 }, (_, index) => ({ device: `d${index % 4}`, celsius: 60 + index }));
      for (const row of sent) await client.publishAsync(`plant/${row.device}/temperature`, JSON.stringify(row), { qos: 1 });
      const expected = sent.filter((row) => row.celsius > 80);
      const deadline = Date.now() + 60_000;
      while (received.length < expected.length && Date.now() < deadline) await query.processAllAvailable();
      await query.stop();
      assert.deepEqual([...received].sort((a, b) => a.celsius - b.celsius), expected);
    } finally {
      await client.endAsync();
    }
  });

  it("fails at start() naming the broker when the broker's certificate is not signed by tls.ca", async () => {
    const source = session.readStream.format("mqtt").schema(reading).options(connection({ topic: "plant/#", "tls.ca": join(folder, "other-ca.crt"), clientId: "tls-test-wrong-ca", connectTimeout: "10 seconds" })).load();
    await assert.rejects(source.writeStream.format("memory").queryName("wrong_ca").start(), (error: Error) => {
      assert.ok(transportCause(error), `${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`MQTT broker at ${broker.url.replace(/[.]/g, "\\.")} as client 'tls-test-wrong-ca'`));
      assert.match(error.message, /certificate was not accepted; option 'tls\.ca'/);
      return true;
    });
    const frame = session.readStream.format("mqtt").schema(reading).options(connection({ topic: "plant/#", clientId: "tls-test-ok-reader" })).load();
    await assert.rejects(frame.writeStream.format("mqtt").options(connection({ topic: "out/x", "tls.ca": join(folder, "other-ca.crt"), clientId: "tls-test-wrong-ca-writer", connectTimeout: "10 seconds" })).start(), (error: Error) => {
      assert.ok(transportCause(error), `${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`MQTT broker at ${broker.url.replace(/[.]/g, "\\.")} as client 'tls-test-wrong-ca-writer'.*certificate was not accepted`));
      return true;
    });
  });

  it("fails at start() naming the broker when the password is wrong", async () => {
    const source = session.readStream.format("mqtt").schema(reading).options(connection({ topic: "plant/#", password: "wrong", clientId: "tls-test-wrong-password", connectTimeout: "10 seconds" })).load();
    await assert.rejects(source.writeStream.format("memory").queryName("wrong_password").start(), (error: Error) => {
      assert.ok(transportCause(error), `${error.name}: ${error.message}`);
      assert.match(error.message, new RegExp(`MQTT broker at ${broker.url.replace(/[.]/g, "\\.")} as client 'tls-test-wrong-password'`));
      assert.match(error.message, /not authori[sz]ed|bad user ?name or password/i);
      return true;
    });
  });
});
