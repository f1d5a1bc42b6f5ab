// rocket-chat deployed as its docs say: behind deploy/nginx.conf, whose timeouts protect it from
// idle and stalled clients that Rocket 0.5.2 itself never cuts off. The app runs with the usual
// limit of 1,024 open files; straight at the app, 1,100 silent connections stay open for as
// long as their clients like (asserted as it is, so that a Rocket that closes them fails here
// and the docs change); through nginx, the same crowd leaves the app answering and is closed by
// nginx within its header timeout, and a stalled body ends at nginx.
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const net = require("node:net");

const { session, authHeaders, sleep, startApp, startNginx, startSockudo } = require("./harness");

const SILENT = 1100;

/** Opens `n` connections to `port` that send nothing; resolves once all are open. */
async function silentCrowd(port, n) {
  const sockets = [];
  let closed = 0;
  await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.on("connect", resolve);
      socket.on("error", resolve);
      socket.on("close", () => closed++);
      sockets.push(socket);
    })),
  );
  return { closed: () => closed, end: () => sockets.forEach((s) => s.destroy()) };
}

/** GET / within `ms`: its status, or the error. */
async function page(base, ms) {
  try {
    const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(ms) });
    return res.status;
  } catch (e) {
    return e.name;
  }
}

/** A raw request that declares `declared` body bytes and sends `sent`: what came back, when. */
function stalledBody(port, declared, sent, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => { socket.destroy(); resolve({ closed: false, data, ms: Date.now() - started }); }, timeoutMs);
    socket.on("data", (d) => (data += d));
    socket.on("error", () => {});
    socket.on("close", () => { clearTimeout(timer); resolve({ closed: true, data, ms: Date.now() - started }); });
    socket.on("connect", () => socket.write(`POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${sent}`));
  });
}

describe("rocket-chat behind deploy/nginx.conf", () => {
  let node;
  let app;
  let lb;

  before(async () => {
    node = await startSockudo("rocket-proxy");
    app = await startApp("rocket-chat", node.wsPort, {}, ["prlimit", "--nofile=1024", "--"]);
    lb = await startNginx([app.base], node.wsPort);
  });

  after(async () => {
    if (lb) await lb.close();
    if (app) await app.close();
    if (node) await node.close();
  });

  it("straight at the app, 1,100 silent connections are held by Rocket itself (reported), and it answers once they go", async () => {
    const crowd = await silentCrowd(Number(new URL(app.base).port), SILENT);
    const status = await page(app.base, 3000);
    await sleep(6000);
    // Rocket never closes them: none is closed by the server after nginx's header timeout.
    const closedByServer = crowd.closed();
    crowd.end();
    console.log(`rocket-chat, reached directly with ${SILENT} silent connections open: GET / gave ${status}; after 6 s the app had closed ${closedByServer} of them`);
    assert.equal(closedByServer, 0, "Rocket now closes silent connections: update rocket-chat's docs and this test");
    // It answers again once they are gone.
    for (let i = 0; i < 50 && (await page(app.base, 1000)) !== 200; i++) await sleep(100);
    assert.equal(await page(app.base, 3000), 200);
  });

  it("through nginx, the same crowd leaves it answering, and nginx closes every silent connection", async () => {
    const crowd = await silentCrowd(lb.port, SILENT);
    const status = await page(lb.base, 3000);
    const ann = await session(lb.base, "ann");
    const authorized = await fetch(`${lb.base}/channels/authorize`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...authHeaders(ann) },
      body: "socket_id=1.2&channel_name=private-chat",
    });
    // client_header_timeout is 5 s.
    for (let i = 0; i < 80 && crowd.closed() < SILENT; i++) await sleep(100);
    const closed = crowd.closed();
    crowd.end();
    console.log(`rocket-chat behind nginx with ${SILENT} silent connections open: GET / gave ${status}, a login and an authorization ${authorized.status}; nginx closed ${closed} of them`);
    assert.equal(status, 200);
    assert.equal(authorized.status, 200);
    assert.equal(closed, SILENT, "nginx kept silent connections open");
  });

  it("through nginx, a body that stops short is answered by nginx, not left to the app", async () => {
    const stalled = await stalledBody(lb.port, 100, '{"na', 10000);
    console.log(`rocket-chat behind nginx: a POST declaring 100 bytes and sending 4 ended after ${stalled.ms} ms: ${JSON.stringify(stalled.data.slice(0, 30))}`);
    assert.equal(stalled.closed, true, "nginx kept the stalled request open");
    assert.ok(stalled.ms < 8000, `closed after ${stalled.ms} ms`);
    // nginx ends the request at its body timeout: a 408, or the connection closed with nothing.
    assert.ok(stalled.data === "" || /^HTTP\/1\.1 408 /.test(stalled.data), `nginx answered ${JSON.stringify(stalled.data.slice(0, 80))}`);
    assert.equal(await page(lb.base, 3000), 200);
  });
});
