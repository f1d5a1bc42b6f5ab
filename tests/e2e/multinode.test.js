// More than one machine: two instances of each chat example and two sockudo nodes, sharing one
// Redis (Debian's redis-server, started here on a free loopback port): the app's sessions in
// Redis, sockudo's Redis adapter between the nodes. Authorization is stateless, so any app
// instance can answer for any session, and the nodes share channels.
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const crypto = require("node:crypto");

const { APP, allowCookieHeader, cookieOf, once, post, session, sleep, startApp, startRedis, startSockudo, subscribe, connected, until } = require("./harness");

const jsDir = path.join(__dirname, "../js");
const Pusher = require(path.join(jsDir, "node_modules/pusher-js"));
allowCookieHeader(Pusher);

// rocket-chat keeps its sessions in the process and refuses REDIS_URL: one instance only.
const APPS = (process.env.E2E_APPS || "axum-chat,actix-chat").split(",").filter((app) => app !== "rocket-chat");

/** A client on sockudo node `wsPort`, authorized by the app instance at `base`. */
function clientVia(wsPort, base, s) {
  const headers = { "X-CSRF-Token": s.csrf, Cookie: s.cookie };
  return new Pusher(APP.key, {
    cluster: "mt1",
    wsHost: "127.0.0.1",
    wsPort,
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
    channelAuthorization: { endpoint: `${base}/channels/authorize`, transport: "ajax", headers },
    userAuthentication: { endpoint: `${base}/channels/user-auth`, transport: "ajax", headers },
  });
}

for (const appName of APPS) {
  describe(`${appName}: two app instances, two sockudo nodes, one Redis`, () => {
    let redis, node1, node2, appA, appB;
    const clients = [];
    const logs = () => [node1, node2, appA, appB].filter(Boolean).map((x) => (x.proc || x.app).logTail(15)).join("\n");

    before(async () => {
      redis = await startRedis();
      node1 = await startSockudo(`${appName}-node1`, null, redis.port);
      node2 = await startSockudo(`${appName}-node2`, null, redis.port);
      // Both instances sign session cookies with the same key (actix-session), keep sessions
      // in the same Redis, and publish to their own node.
      const shared = { REDIS_URL: redis.url, CHAT_SESSION_KEY: crypto.randomBytes(64).toString("hex") };
      appA = await startApp(appName, node1.wsPort, shared);
      appB = await startApp(appName, node2.wsPort, shared);
    });

    after(async () => {
      for (const p of clients) p.disconnect();
      for (const x of [appA, appB, node1, node2, redis]) if (x) await x.close();
    });

    it("a session from instance A is authorized by B; node 1 and node 2 share presence and messages; B excludes the sender's connection A authorized; stopping A loses no session", async () => {
      try {
        // Logged in through instance A.
        const ann = await session(appA.base, "ann");
        const bob = await session(appA.base, "bob");
        // ann on node 1, authorized by A; bob on node 2, authorized by B with A's session.
        const a = clientVia(node1.wsPort, appA.base, ann);
        const b = clientVia(node2.wsPort, appB.base, bob);
        clients.push(a, b);
        await connected(a);
        await connected(b);
        const presenceA = await subscribe(a, "presence-chat");
        assert.equal(presenceA.ok, true, JSON.stringify(presenceA.error));
        const added = once(presenceA.channel, "pusher:member_added");
        const presenceB = await subscribe(b, "presence-chat");
        assert.equal(presenceB.ok, true, `instance B refused A's session: ${JSON.stringify(presenceB.error)}`);
        assert.equal((await added).id, "bob");
        // Each node sees both members.
        assert.deepEqual(Object.keys(presenceB.channel.members.members).sort(), ["ann", "bob"]);
        assert.deepEqual(Object.keys(presenceA.channel.members.members).sort(), ["ann", "bob"]);

        // A message sent through instance B (which publishes to node 2) reaches ann on node 1.
        const chatA = await subscribe(a, "private-chat");
        assert.equal(chatA.ok, true);
        const arrived = once(chatA.channel, "send-message");
        bob.base = appB.base;
        assert.equal((await post(bob, "/channels/send-message", { message: "across nodes" })).status, 204);
        assert.deepEqual(await arrived, { name: "bob", message: "across nodes" });

        // ann's connection was authorized by A; she sends through B naming it: B finds it in
        // the shared session and excludes it. bob (authorized by B, on node 2) receives it.
        const chatB = await subscribe(b, "private-chat");
        assert.equal(chatB.ok, true);
        // Everything each connection receives from here on, in order.
        const toAnn = [];
        const toBob = [];
        chatA.channel.bind("send-message", (m) => toAnn.push(m));
        chatB.channel.bind("send-message", (m) => toBob.push(m));
        const sentinel = { name: "bob", message: "sentinel from bob" };
        const sentinelAtAnn = until(chatA.channel, "send-message", (m) => m.message === sentinel.message);
        const sentinelAtBob = until(chatB.channel, "send-message", (m) => m.message === sentinel.message);
        const viaB = { ...ann, base: appB.base };
        const sent = await post(viaB, "/channels/send-message", { message: "not back to me" }, { "X-Socket-ID": a.connection.socket_id });
        assert.equal(sent.status, 204);
        // Then a message for everyone, published the same way (through B, to node 2) after
        // ann's: it reaches ann's connection after hers would have, had it been sent to it.
        assert.equal((await post(bob, "/channels/send-message", { message: sentinel.message })).status, 204);
        await sentinelAtAnn;
        await sentinelAtBob;
        assert.deepEqual(toBob, [{ name: "ann", message: "not back to me" }, sentinel]);
        assert.deepEqual(toAnn, [sentinel], "a connection authorized by instance A was not excluded by instance B");

        // Instance A stops: the sessions it created live on in Redis, and B serves them.
        await appA.close();
        appA = null;
        ann.base = appB.base;
        const c = clientVia(node2.wsPort, appB.base, ann);
        clients.push(c);
        assert.equal((await subscribe(c, "private-chat")).ok, true, "a session created by the stopped instance was lost");
        assert.equal((await post(ann, "/channels/send-message", { message: "after A stopped" })).status, 204);
        await sleep(200);
      } catch (error) {
        console.error(`\n${appName} multi-node failed: ${error.message}\n${logs()}`);
        throw error;
      }
    });

    it("a logout is final: requests under way when it happens do not bring the session back from Redis", async () => {
      // Instance A was stopped above: B serves everything here.
      const carol = await session(appB.base, "carol");
      const authorize = (s, i) => post(s, "/channels/authorize", { socket_id: `1.${i}`, channel_name: "private-chat" });
      // Requests that take a while (a send-message waits for the Pusher server) and end by
      // writing the session back (each records the visit, or a connection), in waves, while
      // the logout happens.
      // Each request with when it was sent and when its answer came (ms since the start).
      const t0 = performance.now();
      const timed = (what, request) => {
        const sent = performance.now() - t0;
        return request.then((response) => ({ what, response, status: response.status, sent, answered: performance.now() - t0 }));
      };
      const inFlight = [];
      for (let wave = 0; wave < 10; wave++) {
        for (let i = 0; i < 10; i++) {
          inFlight.push(timed("send-message", post(carol, "/channels/send-message", { message: `wave ${wave}` })));
          inFlight.push(timed("authorize", authorize(carol, wave * 100 + i)));
        }
        if (wave === 5) inFlight.push(timed("logout", post(carol, "/logout")));
        await sleep(3);
      }
      const answers = await Promise.all(inFlight);
      const logouts = answers.filter((a) => a.what === "logout");
      assert.deepEqual(logouts.map((a) => a.status), [204]);
      const [logout] = logouts;
      // Requests the session still admitted (any answer but the 403 of a session gone) that were
      // sent before the logout and answered after its answer: on the server, they loaded the
      // session before the logout deleted it, and ended after, when they save it. Without one,
      // this test would prove nothing about the race.
      const count = (list) => {
        const statuses = {};
        for (const a of list) statuses[`${a.what} ${a.status}`] = (statuses[`${a.what} ${a.status}`] || 0) + 1;
        return JSON.stringify(statuses);
      };
      const straddling = answers.filter((a) => a.what !== "logout" && a.status !== 403 && a.sent < logout.sent && a.answered > logout.answered);
      console.log(`${appName}: logout sent at ${logout.sent.toFixed(1)} ms, answered at ${logout.answered.toFixed(1)} ms; in flight across it with the session: ${count(straddling)}; all answers: ${count(answers)}`);
      assert.ok(straddling.length > 0, `no request the session admitted was in flight during the logout: ${count(answers)}`);
      // The old cookie and every cookie a straggler was sent must be logged out.
      const cookies = new Set([carol.cookie]);
      for (const a of answers) if (cookieOf(a.response)) cookies.add(cookieOf(a.response));
      for (const cookie of cookies) {
        const after = await authorize({ ...carol, cookie }, 9999);
        assert.equal(after.status, 403, `a cookie still authorizes after the logout (${cookies.size} cookies seen)`);
      }
    });
  });
}
