// Credentials in a NATS URL: passed to the client, against a real nats-server that requires them, and never printed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";
import { redactServerUrl, serverList, splitServerUrl } from "../../src/actors/nats-url.ts";
import { ConfigError, TransportError } from "../../src/core/errors.ts";

describe("credentials in a NATS URL", () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ jetstream: false });
  });
  after(async () => {
    await server.stop();
  });

  it("are split out of the URL and redacted when shown", () => {
    assert.deepEqual(splitServerUrl("nats://u%40x:p%3Aw@host:4222"), { server: "nats://host:4222", credentials: { user: "u@x", pass: "p:w" } });
    assert.deepEqual(splitServerUrl("nats://tok@host:4222"), { server: "nats://host:4222", credentials: { token: "tok" } });
    assert.deepEqual(splitServerUrl("nats://host:4222"), { server: "nats://host:4222", credentials: {} });
    assert.equal(redactServerUrl("nats://user:pw@host:4222"), "nats://user:***@host:4222");
    assert.equal(redactServerUrl("nats://tok@host:4222"), "nats://***@host:4222");
  });

  it("a comma-separated list, an array, or an array of lists gives one URL per node", () => {
    assert.deepEqual(serverList("nats://a:4222, nats://b:4222,,nats://c:4222 "), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
    assert.deepEqual(serverList(["nats://a:4222", "nats://b:4222,nats://c:4222"]), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
    assert.deepEqual(serverList(" , "), []);
  });

  it("refuses an empty list with a ConfigError that shows it", async () => {
    const error = await NatsTransport.connect({ servers: " , " }).then(() => undefined, (failure: unknown) => failure);
    assert.ok(error instanceof ConfigError, String(error));
    assert.match(error.message, /No NATS server URL/);
  });

  it("connect to a server that requires them, and the address shown holds no password", async () => {
    const transport = await NatsTransport.connect({ servers: `nats://${server.user}:${encodeURIComponent(server.options.pass)}@127.0.0.1:${server.port}` });
    try {
      assert.equal(transport.address, `nats://${server.user}:***@127.0.0.1:${server.port}`);
      const received = new Promise<string>((resolve) => transport.subscribe("hello", (payload) => resolve(new TextDecoder().decode(payload))));
      await transport.flush();
      transport.publish("hello", new TextEncoder().encode("world"));
      assert.equal(await received, "world");
    } finally {
      await transport.close();
    }
  });

  it("fail with a TransportError that does not contain a wrong password", async () => {
    const attempt = NatsTransport.connect({ servers: `nats://${server.user}:wrong-pass-123@127.0.0.1:${server.port}` });
    const error = await attempt.then(() => undefined, (failure: unknown) => failure);
    assert.ok(error instanceof TransportError, String(error));
    assert.ok(!error.message.includes("wrong-pass-123"), error.message);
    assert.ok(!String(error.cause).includes("wrong-pass-123"));
    assert.ok(error.message.includes(`nats://${server.user}:***@127.0.0.1`), error.message);
    assert.match(error.message, /Authorization/i);
  });
});
