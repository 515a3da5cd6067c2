import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, describe, it } from "node:test";
import { connect } from "@nats-io/transport-node";
import { startNatsServer, type NatsServerHandle } from "../../src/actors/nats-server.ts";
import { NatsTransport } from "../../src/actors/nats-transport.ts";

describe("the private nats-server", () => {
  let server: NatsServerHandle;
  before(async () => {
    server = await startNatsServer({ jetstream: false });
  });
  after(async () => {
    await server.stop();
  });

  it("refuses a client without its generated credentials", async () => {
    await assert.rejects(connect({ servers: server.url }), /Authorization/);
    await assert.rejects(connect({ servers: server.url, user: "rill", pass: "guess" }), /Authorization/);
  });

  it("accepts the handle's options, and each server has its own password", async () => {
    const transport = await NatsTransport.connect(server.options);
    await transport.close();
    const other = await startNatsServer({ jetstream: false });
    try {
      assert.equal(other.options.user, server.options.user);
      assert.notEqual(other.options.pass, server.options.pass);
      assert.ok(server.options.pass.length >= 32);
    } finally {
      await other.stop();
    }
  });

  it("keeps the password out of the url and of a printed handle", () => {
    const { pass } = server.options;
    assert.ok(!server.url.includes(pass));
    assert.ok(!inspect(server).includes(pass));
    assert.ok(!JSON.stringify(server).includes(pass));
  });
});
