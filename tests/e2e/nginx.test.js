// deploy/nginx.conf itself, in front of stand-in upstreams (Node servers that count what reaches
// them): the body limit of each route against what the apps accept, the per-address key (IPv6
// by its /64), the caps on connections per address, what is retried on the other instance and
// what is not, the headers passed to sockudo, and the answers nginx gives itself. Only the
// addresses of the file change (nginx-config.js). Each test comes from its own 127.0.0.x
// address, so that one test's requests do not count against another's limits.
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const net = require("node:net");

const { sleep, startNginx } = require("./harness");

/** A stand-in app instance: answers 200 (or 503 while `failing`), holds `/hold` for a while. */
function standInApp(name) {
  const app = { name, hits: 0, failing: false, server: null, base: "" };
  app.server = http.createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c) => (bytes += c.length));
    req.on("end", () => {
      app.hits++;
      if (app.failing) {
        res.writeHead(503, { "Content-Type": "application/json" });
        return res.end('{"error":{"code":"timeout"}}');
      }
      const answer = () => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ app: name, bytes }));
      };
      if (req.url === "/hold") setTimeout(answer, 1500);
      else answer();
    });
  });
  return new Promise((resolve) => app.server.listen(0, "127.0.0.1", () => {
    app.base = `http://127.0.0.1:${app.server.address().port}`;
    resolve(app);
  }));
}

/** A stand-in sockudo node: accepts every WebSocket upgrade and keeps it open. */
function standInNode() {
  const node = { upgrades: [], sockets: [], server: http.createServer((req, res) => res.end()), port: 0 };
  node.server.on("upgrade", (req, socket) => {
    node.upgrades.push(req.headers);
    node.sockets.push(socket);
    socket.on("error", () => {});
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  });
  return new Promise((resolve) => node.server.listen(0, "127.0.0.1", () => {
    node.port = node.server.address().port;
    resolve(node);
  }));
}

/** One request through nginx from `from` (a loopback address): status, headers, body. */
function request(port, from, method, route, body, headers) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: route, method, localAddress: from, agent: false, headers: { "Content-Type": "application/json", ...(headers || {}) } },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      },
    );
    req.on("error", (e) => resolve({ status: e.code }));
    req.setTimeout(10000, () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

/** A WebSocket upgrade through nginx from `from`, kept open: 101, or nginx's status. */
function upgrade(port, from, held) {
  return new Promise((resolve) => {
    const req = http.request({
      host: "127.0.0.1", port, path: "/app/key?protocol=7", localAddress: from, agent: false,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    req.on("upgrade", (res, socket) => { held.push(socket); resolve(101); });
    req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", (e) => resolve(e.code));
    req.end();
  });
}

function tally(list) {
  const out = {};
  for (const x of list) out[x] = (out[x] || 0) + 1;
  return out;
}

describe("deploy/nginx.conf", () => {
  let a;
  let b;
  let node;
  let lb;

  before(async () => {
    a = await standInApp("a");
    b = await standInApp("b");
    node = await standInNode();
    lb = await startNginx([a.base, b.base], node.port);
  });

  after(async () => {
    if (lb) await lb.close();
    for (const s of [a, b, node]) if (s) s.server.close();
    if (node) node.sockets.forEach((s) => s.destroy());
  });

  it("lets through the largest body each app route accepts, and refuses more itself (413, JSON)", async () => {
    // The apps' limits: a login 1 KiB, a message batch 256 KiB (ten 2,000-character messages,
    // every character escaped), a whisper 32 KiB, an authorization 16 KiB (pusher-auth's
    // default), a webhook 512 KiB (pusher-auth's default).
    const routes = [
      ["/login", 1000, 2000],
      ["/channels/send-message", 240 * 1024, 300 * 1024],
      ["/channels/whisper", 30 * 1024, 40 * 1024],
      ["/channels/authorize", 15 * 1024, 20 * 1024],
      ["/pusher/webhooks", 500 * 1024, 600 * 1024],
      ["/logout", 2, 20 * 1024],
    ];
    const seen = [];
    for (const [route, fits, over] of routes) {
      const ok = await request(lb.port, "127.0.0.2", "POST", route, "x".repeat(fits));
      const big = await request(lb.port, "127.0.0.2", "POST", route, "x".repeat(over));
      seen.push(`${route}: ${fits} bytes ${ok.status}, ${over} bytes ${big.status}`);
      assert.equal(ok.status, 200, `${route}: ${fits} bytes did not reach the app (${ok.status})`);
      assert.equal(JSON.parse(ok.body).bytes, fits);
      assert.equal(big.status, 413, `${route}: ${over} bytes were not refused (${big.status})`);
      assert.deepEqual(JSON.parse(big.body), { error: { code: "payload_too_large" } });
    }
    console.log(`body limits through nginx: ${seen.join("; ")}`);
  });

  it("passes X-Forwarded-For and X-Forwarded-Proto to sockudo, and no X-Upstream to anyone", async () => {
    const held = [];
    assert.equal(await upgrade(lb.port, "127.0.0.3", held), 101);
    held.forEach((s) => s.destroy());
    const headers = node.upgrades[node.upgrades.length - 1];
    assert.equal(headers["x-forwarded-for"], "127.0.0.3");
    assert.equal(headers["x-forwarded-proto"], "http");
    const page = await request(lb.port, "127.0.0.3", "GET", "/");
    assert.equal(page.status, 200);
    assert.equal(page.headers["x-upstream"], undefined, "the production file names its upstreams to clients");
  });

  it("caps the WebSocket connections and the requests in progress of one address (429)", async () => {
    const held = [];
    const statuses = [];
    for (let k = 0; k < 105; k++) statuses.push(await upgrade(lb.port, "127.0.0.4", held));
    // Another address is not affected.
    const other = await upgrade(lb.port, "127.0.0.5", held);
    held.forEach((s) => s.destroy());
    console.log(`105 WebSocket connections held open from one address: ${JSON.stringify(tally(statuses))}; another address ${other}`);
    assert.deepEqual(tally(statuses), { 101: 100, 429: 5 });
    assert.equal(other, 101);
    // Requests the app takes 1.5 s to answer, 70 at once from one address.
    const answers = await Promise.all(Array.from({ length: 70 }, () => request(lb.port, "127.0.0.6", "GET", "/hold")));
    const byStatus = tally(answers.map((r) => r.status));
    console.log(`70 slow requests at once from one address: ${JSON.stringify(byStatus)}`);
    assert.deepEqual(byStatus, { 200: 64, 429: 6 });
  });

  it("does not send an authorization the app answered 503 to the other instance", async () => {
    a.failing = true;
    const before = a.hits + b.hits;
    const beforeA = a.hits;
    try {
      const answers = [];
      for (let k = 0; k < 10; k++) answers.push((await request(lb.port, "127.0.0.7", "POST", "/channels/authorize", "socket_id=1.2")).status);
      const seen = tally(answers);
      console.log(`10 authorizations, instance a answering 503: clients saw ${JSON.stringify(seen)}; a got ${a.hits - beforeA}, b ${b.hits - (before - beforeA)}`);
      assert.equal(a.hits + b.hits - before, 10, "an answered request was sent again");
      assert.equal(seen[503] || 0, a.hits - beforeA, "a 503 was retried on the other instance");
      assert.ok(seen[503] > 0);
    } finally {
      a.failing = false;
    }
  });

  it("sends an authorization to the other instance when the first cannot be reached", async () => {
    const closed = await new Promise((resolve) => {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    });
    const lb2 = await startNginx([`http://127.0.0.1:${closed}`, b.base], node.port);
    try {
      const answers = [];
      for (let k = 0; k < 6; k++) answers.push((await request(lb2.port, "127.0.0.8", "POST", "/channels/authorize", "socket_id=1.2")).status);
      assert.deepEqual(tally(answers), { 200: 6 });
    } finally {
      await lb2.close();
    }
  });

  it("answers past the limits itself: Retry-After 1 for authorizations, 6 for logins", async () => {
    const auth = [];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let k = 0; k < 45; k++) auth.push(await request(lb.port, "127.0.0.9", "POST", "/channels/authorize", "socket_id=1.2"));
    }));
    const refused = auth.find((r) => r.status === 429);
    console.log(`720 authorizations from one address at once: ${JSON.stringify(tally(auth.map((r) => r.status)))}`);
    assert.ok(refused, "no authorization was refused");
    assert.equal(refused.headers["retry-after"], "1");
    assert.deepEqual(JSON.parse(refused.body), { error: { code: "too_many_requests" } });
    const logins = [];
    for (let k = 0; k < 12; k++) logins.push(await request(lb.port, "127.0.0.10", "POST", "/login", "{}"));
    const login = logins.find((r) => r.status === 429);
    assert.ok(login, "no login was refused");
    assert.equal(login.headers["retry-after"], "6");
  });

  it("counts IPv6 clients by their /64, IPv4 ones (mapped too) by their address", async () => {
    const probe = await startNginx([a.base], node.port, {
      mapSource: "$http_x_test_addr",
      serverExtra: 'location = /client-net { default_type text/plain; return 200 "$client_net"; }',
    });
    try {
      const cases = {
        "192.0.2.7": "192.0.2.7",
        "::ffff:192.0.2.7": "192.0.2.7",
        "2001:db8:1:2:3:4:5:6": "2001:db8:1:2",
        "2001:db8:1:2::6": "2001:db8:1:2",
        "2001:db8:0:0:1::": "2001:db8:0:0",
        "2001:db8:1::6": "2001:db8:1:0",
        "2001:db8::6": "2001:db8:0:0",
        "2001:db8::5:6:7:8": "2001:db8:0:0",
        "2001::1:2:3:4:5": "2001:0:0:1",
        "2001::5": "2001:0:0:0",
        "::1": "0:0:0:0",
        "::1:2:3:4:5": "0:0:0:1",
        "::1:2:3:4:5:6": "0:0:1:2",
      };
      const got = {};
      for (const address of Object.keys(cases)) {
        got[address] = (await request(probe.port, "127.0.0.11", "GET", "/client-net", undefined, { "X-Test-Addr": address })).body;
      }
      assert.deepEqual(got, cases);
    } finally {
      await probe.close();
    }
  });

  it("holds no lasting state for a closed WebSocket (the cap frees up)", async () => {
    await sleep(500);
    const held = [];
    const statuses = [];
    for (let k = 0; k < 3; k++) statuses.push(await upgrade(lb.port, "127.0.0.4", held));
    held.forEach((s) => s.destroy());
    assert.deepEqual(statuses, [101, 101, 101]);
  });
});
