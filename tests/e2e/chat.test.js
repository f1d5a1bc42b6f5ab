// End-to-end scenarios against each chat example, with a real Pusher-protocol server (sockudo
// 5.2.0) and real clients (pusher-js 8.6.0 in Node and in Chromium, Laravel Echo 2.5.0,
// pusher-js-auth 4.0.1), publishing through the apps' own send-message route and, where the
// `pusher` crate cannot (encrypted payloads, send to user), the official Node SDK.
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const path = require("node:path");
const fs = require("node:fs");
const crypto = require("node:crypto");

const { APP, MASTER_KEY, OUTPUT, connected, connectionOptions, once, post, pusherOptions, session, sleep, startStack, subscribe } = require("./harness");

const jsDir = path.join(__dirname, "../js");
const Pusher = require(path.join(jsDir, "node_modules/pusher-js"));
const PusherServer = require(path.join(jsDir, "node_modules/pusher"));
const PusherBatchAuthorizer = require(path.join(jsDir, "node_modules/pusher-js-auth"));
// laravel-echo 2.5.0 ships ES modules (its CommonJS build does not load under Node 20).
const loadEcho = () => import(require("node:url").pathToFileURL(path.join(jsDir, "node_modules/laravel-echo/dist/echo.js")).href).then((m) => m.default);

const APPS = (process.env.E2E_APPS || "axum-chat,actix-chat").split(",");

for (const appName of APPS) {
  describe(appName, () => {
    let stack;
    const clients = [];
    const client = (s, extra) => {
      const p = new Pusher(APP.key, pusherOptions(stack, s, extra));
      clients.push(p);
      return p;
    };
    const sdk = () =>
      new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: "127.0.0.1", port: String(stack.wsPort), useTLS: false, encryptionMasterKeyBase64: MASTER_KEY });

    before(async () => {
      stack = await startStack(appName);
    });

    after(async () => {
      for (const p of clients) p.disconnect();
      if (stack) await stack.close();
    });

    // On a failing scenario, print the server logs and the client's last events.
    const scenario = (name, fn) =>
      it(name, async () => {
        const events = [];
        const first = clients.length;
        try {
          await fn(events);
          // Leave nothing connected for the next scenario (presence lists stay exact).
          for (const p of clients.splice(first)) p.disconnect();
          await sleep(200);
        } catch (error) {
          console.error(`\n${appName} / ${name} failed: ${error.message}\n${stack.logs()}\n--- client events ---\n${JSON.stringify(events.slice(-20), null, 1)}`);
          throw error;
        }
      });

    scenario("1. logged in: private-chat, and a message arrives with the sender's name", async (events) => {
      const ann = await session(stack.base, "ann");
      const bob = await session(stack.base, "bob");
      const receiver = client(bob);
      const sub = await subscribe(receiver, "private-chat");
      assert.equal(sub.ok, true, JSON.stringify(sub.error));
      const arrived = once(sub.channel, "send-message");
      const res = await post(ann, "/channels/send-message", { message: "hello from ann" });
      assert.equal(res.status, 204);
      const message = await arrived;
      events.push(message);
      assert.deepEqual(message, { name: "ann", message: "hello from ann" });
    });

    scenario("2. not logged in: 403 and subscription_error, no event", async (events) => {
      const anonymous = await session(stack.base, null);
      const p = client(anonymous);
      const sub = await subscribe(p, "private-chat");
      events.push(sub.error);
      assert.equal(sub.ok, false);
      assert.equal(sub.error.status, 403);
      assert.equal(sub.error.type, "AuthError");
      let received = false;
      sub.channel.bind("send-message", () => (received = true));
      const ann = await session(stack.base, "ann2");
      assert.equal((await post(ann, "/channels/send-message", { message: "secret" })).status, 204);
      // Not logged in, the send-message route itself refuses.
      assert.equal((await post(anonymous, "/channels/send-message", { message: "x" })).status, 403);
      await sleep(500);
      assert.equal(received, false);
    });

    scenario("3. presence: two members see each other, member_removed when one leaves", async (events) => {
      const carol = client(await session(stack.base, "carol"));
      const dave = client(await session(stack.base, "dave"));
      const first = await subscribe(carol, "presence-chat");
      assert.equal(first.ok, true, JSON.stringify(first.error));
      const added = once(first.channel, "pusher:member_added");
      const second = await subscribe(dave, "presence-chat");
      assert.equal(second.ok, true);
      const member = await added;
      events.push(member);
      assert.deepEqual({ id: member.id, info: member.info }, { id: "dave", info: { name: "dave" } });
      assert.deepEqual(second.channel.members.get("carol").info, { name: "carol" });
      assert.equal(second.channel.members.me.id, "dave");
      const removed = once(first.channel, "pusher:member_removed");
      dave.disconnect();
      assert.equal((await removed).id, "dave");
    });

    scenario("4. encrypted: an event encrypted with the master key arrives decrypted", async (events) => {
      const erin = client(await session(stack.base, "erin"));
      const sub = await subscribe(erin, "private-encrypted-chat");
      assert.equal(sub.ok, true, JSON.stringify(sub.error));
      const arrived = once(sub.channel, "send-message");
      await sdk().trigger("private-encrypted-chat", "send-message", { name: "server", message: "for your eyes only" });
      const message = await arrived;
      events.push(message);
      assert.deepEqual(message, { name: "server", message: "for your eyes only" });
    });

    scenario("5. sign-in: signin succeeds and an event sent to the user arrives", async (events) => {
      const frank = client(await session(stack.base, "frank"));
      await connected(frank);
      const failed = [];
      frank.user.bind("pusher:signin_error", (e) => failed.push(e));
      frank.signin();
      await frank.user.signinDonePromise;
      events.push({ user_data: frank.user.user_data, failed });
      assert.deepEqual(failed, []);
      assert.equal(frank.user.user_data.id, "frank");
      const arrived = once(frank.user, "direct");
      // The server subscribes the connection to #server-to-user-frank after sign-in.
      await sleep(300);
      await sdk().sendToUser("frank", "direct", { hello: "frank" });
      assert.deepEqual(await arrived, { hello: "frank" });
    });

    scenario("6. batch: pusher-js-auth authorizes many channels in one request; a denied one fails alone", async (events) => {
      const grace = await session(stack.base, "grace");
      // A counting proxy in front of the app's auth endpoint.
      let requests = 0;
      const proxy = http.createServer((req, res) => {
        requests += 1;
        const upstream = http.request(`${stack.base}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.pipe(res);
        });
        req.pipe(upstream);
      });
      await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      try {
        const endpoint = `http://127.0.0.1:${proxy.address().port}/channels/authorize`;
        const p = new Pusher(APP.key, {
          ...connectionOptions(stack),
          authorizer: PusherBatchAuthorizer,
          authEndpoint: endpoint,
          auth: { headers: { "X-CSRF-Token": grace.csrf, Authorization: `Bearer ${grace.sid}` } },
        });
        clients.push(p);
        await connected(p);
        const names = ["private-chat", "private-room.1", "private-room.2", "private-room.3", "presence-chat", "private-encrypted-chat", "private-room.x"];
        const results = await Promise.all(names.map((n) => subscribe(p, n)));
        events.push(results.map((r, i) => [names[i], r.ok, r.error && r.error.status]));
        for (const [i, r] of results.entries()) {
          assert.equal(r.ok, names[i] !== "private-room.x", `${names[i]}: ${JSON.stringify(r.error)}`);
        }
        assert.equal(requests, 1, `${requests} auth requests for ${names.length} channels`);
      } finally {
        proxy.close();
      }
    });

    scenario("7. Laravel Echo: private('chat') and join('chat') work unchanged", async (events) => {
      const heidi = await session(stack.base, "heidi");
      const Echo = await loadEcho();
      const echo = new Echo({
        broadcaster: "pusher",
        Pusher,
        key: APP.key,
        ...connectionOptions(stack),
        authEndpoint: `${stack.base}/channels/authorize`,
        csrfToken: heidi.csrf,
        auth: { headers: { Authorization: `Bearer ${heidi.sid}` } },
      });
      clients.push(echo.connector.pusher);
      const here = new Promise((resolve, reject) => echo.join("chat").here(resolve).error(reject));
      const members = await here;
      events.push(members);
      assert.ok(members.some((m) => m.name === "heidi"), JSON.stringify(members));
      const message = new Promise((resolve, reject) => echo.private("chat").listen(".send-message", resolve).error(reject));
      await sleep(300);
      const ivan = await session(stack.base, "ivan");
      assert.equal((await post(ivan, "/channels/send-message", { message: "via echo" })).status, 204);
      assert.deepEqual(await message, { name: "ivan", message: "via echo" });
      echo.disconnect();
    });

    scenario("8. webhooks: sockudo's channel_occupied and member_added are verified and recorded; a forgery is 401", async (events) => {
      const judy = client(await session(stack.base, "judy"));
      assert.equal((await subscribe(judy, "presence-chat")).ok, true);
      let recorded = [];
      for (let i = 0; i < 50; i++) {
        recorded = await (await fetch(`${stack.base}/webhooks/events`)).json();
        if (recorded.some((e) => e.name === "member_added" && e.user_id === "judy") && recorded.some((e) => e.name === "channel_occupied")) break;
        await sleep(200);
      }
      events.push(recorded);
      assert.ok(recorded.some((e) => e.name === "channel_occupied"), JSON.stringify(recorded));
      assert.ok(recorded.some((e) => e.name === "member_added" && e.channel === "presence-chat" && e.user_id === "judy"), JSON.stringify(recorded));
      const body = JSON.stringify({ time_ms: Date.now(), events: [{ name: "channel_vacated", channel: "private-forged" }] });
      const forged = crypto.createHmac("sha256", "not-the-secret").update(body).digest("hex");
      const res = await fetch(`${stack.base}/pusher/webhooks`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Pusher-Key": APP.key, "X-Pusher-Signature": forged },
        body,
      });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, "bad_signature");
      const after = await (await fetch(`${stack.base}/webhooks/events`)).json();
      assert.ok(!after.some((e) => e.channel === "private-forged"));
    });

    scenario("9. a tampered signature is refused by sockudo", async (events) => {
      const kim = await session(stack.base, "kim");
      // A test-only authorizer: asks the app, then signs with the wrong secret.
      const wrong = new PusherServer({ appId: APP.id, key: APP.key, secret: "wrong-secret" });
      const p = client(kim, {
        channelAuthorization: {
          customHandler: ({ socketId, channelName }, callback) => callback(null, wrong.authorizeChannel(socketId, channelName)),
        },
      });
      const errors = [];
      p.connection.bind("error", (e) => errors.push(e));
      // sockudo answers a bad signature with a pusher:error (or silence), never with
      // subscription_succeeded.
      const sub = await subscribe(p, "private-chat", 3000).catch((e) => ({ ok: false, error: e.message }));
      events.push(sub.error, errors);
      assert.equal(sub.ok, false, "sockudo accepted a signature made with the wrong secret");
      // The same client with the app's answer succeeds.
      const good = client(kim);
      assert.equal((await subscribe(good, "private-chat")).ok, true);
    });

    scenario("10. the browser: the chat page logs in, sends a message, and sees it arrive", async (events) => {
      const { chromium } = require(path.join(jsDir, "node_modules/playwright-core"));
      const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
      if (!fs.existsSync(executablePath)) throw new Error(`${executablePath} is missing: scripts/install-test-tools installs Debian's chromium`);
      const browser = await chromium.launch({
        executablePath,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
      });
      try {
        const open = async (name) => {
          const context = await browser.newContext();
          const page = await context.newPage();
          page.on("console", (m) => events.push(`${name} console: ${m.text()}`));
          await page.goto(`${stack.base}/`);
          await page.fill("#name", name);
          await page.click("#login button");
          await page.waitForFunction(() => window.chat.events.some((e) => e.kind === "subscribed" && e.detail === "private-chat"), null, { timeout: 15000 });
          await page.waitForFunction(() => window.chat.events.some((e) => e.kind === "subscribed" && e.detail === "presence-chat"), null, { timeout: 15000 });
          return page;
        };
        const alice = await open("alice");
        const bruno = await open("bruno");
        await alice.waitForFunction(() => document.querySelectorAll("#online li").length >= 2, null, { timeout: 10000 });
        await bruno.fill("#message", "hi alice");
        await bruno.click("#send button[type=submit], #send button:not([type])");
        await alice.waitForFunction(() => [...document.querySelectorAll("#messages li")].some((li) => li.textContent === "brunohi alice"), null, { timeout: 10000 });
        fs.mkdirSync(OUTPUT, { recursive: true });
        await alice.screenshot({ path: path.join(OUTPUT, `chat-${appName}.png`) });
        const online = await alice.$$eval("#online li", (lis) => lis.map((li) => li.textContent).sort());
        assert.deepEqual(online, ["alice", "bruno"]);
        events.push(await alice.evaluate(() => window.chat.events.slice(-10)));
      } finally {
        await browser.close();
      }
    });
  });
}
