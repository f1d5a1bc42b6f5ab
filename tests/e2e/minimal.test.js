// The minimal examples (axum-minimal, actix-minimal, rocket-minimal) against sockudo with
// pusher-js in Node: each logs two users in, authorizes private-chat and presence-chat, signs
// in, and publishes one event to the others; a visitor who is not logged in is refused.
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const {
  APP, allowCookieHeader, connected, connectionOptions, cookieOf, once, sleep, startApp, startSockudo, subscribe, until,
} = require("./harness");

const Pusher = require(path.join(__dirname, "../js/node_modules/pusher-js"));
allowCookieHeader(Pusher);

const APPS = (process.env.E2E_MINIMAL_APPS || "axum-minimal,actix-minimal,rocket-minimal").split(",");

/** Logs in by name: the session cookie, or the status when refused. */
async function login(base, name) {
  const res = await fetch(`${base}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }) });
  return res.status === 204 ? { cookie: cookieOf(res), status: 204 } : { cookie: "", status: res.status };
}

for (const appName of APPS) {
  describe(appName, () => {
    let node;
    let app;
    const clients = [];

    before(async () => {
      node = await startSockudo(appName);
      // The minimal examples listen on MINIMAL_ADDR.
      app = await startApp(appName, node.wsPort, (port) => ({ MINIMAL_ADDR: `127.0.0.1:${port}` }));
    });

    after(async () => {
      for (const p of clients) p.disconnect();
      if (app) await app.close();
      if (node) await node.close();
    });

    const client = (cookie) => {
      const headers = { Cookie: cookie };
      const p = new Pusher(APP.key, Object.assign(connectionOptions(node), {
        channelAuthorization: { endpoint: `${app.base}/pusher/auth`, transport: "ajax", headers },
        userAuthentication: { endpoint: `${app.base}/pusher/user-auth`, transport: "ajax", headers },
      }));
      clients.push(p);
      return p;
    };

    it("authorizes private and presence channels, signs in, and publishes to the others", async () => {
      const ann = await login(app.base, "ann");
      const bob = await login(app.base, "bob");
      assert.equal(ann.status, 204);
      assert.ok(ann.cookie && bob.cookie, "login set no session cookie");
      const pa = client(ann.cookie);
      const pb = client(bob.cookie);
      for (const p of [pa, pb]) {
        const privateChat = await subscribe(p, "private-chat");
        assert.equal(privateChat.ok, true, JSON.stringify(privateChat.error));
      }
      const presenceA = await subscribe(pa, "presence-chat");
      assert.equal(presenceA.ok, true, JSON.stringify(presenceA.error));
      const joined = once(presenceA.channel, "pusher:member_added");
      const presenceB = await subscribe(pb, "presence-chat");
      assert.equal(presenceB.ok, true, JSON.stringify(presenceB.error));
      assert.deepEqual(Object.keys(presenceB.channel.members.members).sort(), ["ann", "bob"]);
      assert.equal((await joined).id, "bob");
      // Sign-in: sockudo accepts the signature (pusher:signin_success).
      pa.signin();
      await connected(pa);
      for (let i = 0; i < 100 && !pa.user.user_data; i++) await sleep(100);
      assert.equal(pa.user.user_data && pa.user.user_data.id, "ann", "ann did not sign in");
      // Ann sends "to others": Bob receives it, Ann's own connection does not.
      const own = [];
      pa.channel("private-chat").bind("message", (data) => own.push(data));
      const arrives = until(pb.channel("private-chat"), "message", (data) => data.text === "hello from ann");
      const sent = await fetch(`${app.base}/send`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Cookie: ann.cookie, "X-Socket-ID": pa.connection.socket_id },
        body: JSON.stringify({ text: "hello from ann" }),
      });
      assert.equal(sent.status, 204);
      assert.deepEqual(await arrives, { from: "ann", text: "hello from ann" });
      await sleep(500);
      assert.deepEqual(own, [], "the sender's own connection received its message");
    });

    it("refuses a visitor who is not logged in, a bad name, a bad socket id and an oversized body", async () => {
      const visitor = client("");
      const refused = await subscribe(visitor, "private-chat");
      assert.equal(refused.ok, false);
      assert.equal(refused.error.status, 403);
      assert.equal((await login(app.base, "")).status, 400);
      const ann = await login(app.base, "ann");
      const send = (headers, body) => fetch(`${app.base}/send`, { method: "POST", headers: { "Content-Type": "application/json", Cookie: ann.cookie, ...headers }, body });
      assert.equal((await send({ "X-Socket-ID": "not-a-socket" }, JSON.stringify({ text: "hi" }))).status, 400);
      assert.equal((await send({}, JSON.stringify({ text: "x".repeat(10000) }))).status, 413);
      const anonymous = await fetch(`${app.base}/send`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: "hi" }) });
      assert.ok([401, 403, 404].includes(anonymous.status), `a visitor's send answered ${anonymous.status}`);
    });

    it("refuses a login or a message sent as text/plain (what a cross-site form can send)", async () => {
      const form = await fetch(`${app.base}/login`, { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ name: "mallory" }) });
      const ann = await login(app.base, "ann");
      const message = await fetch(`${app.base}/send`, { method: "POST", headers: { "Content-Type": "text/plain", Cookie: ann.cookie }, body: JSON.stringify({ text: "forged" }) });
      console.log(`${appName}: a text/plain login answered ${form.status}, a text/plain message ${message.status}`);
      assert.ok(form.status >= 400, `a text/plain login answered ${form.status}`);
      assert.equal(form.headers.get("set-cookie"), null, "a text/plain login set a cookie");
      assert.ok(message.status >= 400, `a text/plain message answered ${message.status}`);
    });
  });
}
