// The load client of scripts/scale: pusher-js clients that use the chat through the load
// balancer as browsers would, each from its own loopback address (127.77.x.y), so that the
// balancer, the apps and sockudo see as many clients as there are connections.
//
//   node tests/js/scale-client.js '<options as JSON>'
//
// Steps, each named in the report and in any failure:
//   connect    every client logs in (POST /login), opens its WebSocket through the balancer,
//              subscribes to private-chat and presence-chat and signs in (three
//              authorizations through the balancer);
//   presence   each client's view of presence-chat (reported; clients joining on both nodes at
//              once may miss a member_added); up to 20 clients with an incomplete view join
//              again, one at a time, and each must then see every member;
//   limits     one address past nginx's login limit (10 a minute per address, where every
//              instance's traffic passes; each app's own limit is tested by
//              tests/e2e/hardening.test.js) and past sockudo's connection limit: both refuse
//              with 429, so the limits are on and the crowd above was under them;
//   messages   clients send messages (POST /channels/send-message, "to others"); every other
//              client must receive each one: delivery latency by whether the receiver's
//              sockudo node is the one the message was published to or the other one; lost
//              and duplicated deliveries, and deliveries to the sender's own connection
//              (scripts/scale checks each against the apps' log of messages sent without
//              the exclusion);
//   authorize  a fixed time of authorizations only (many at once), for their rate and
//              latency through the balancer;
//   failover   every client reconnects (re-authorizing three times); half way through, one
//              app instance is killed (SIGKILL): failed authorizations are counted, and what
//              failed is retried once;
//   after      more messages once only one instance is left: lost must be 0.
//
// The report is printed as a table and as one JSON line (`SCALE-REPORT {...}`); the exit
// status is 0 only when every step passed.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { performance } = require("node:perf_hooks");

const Pusher = require(path.join(__dirname, "node_modules/pusher-js"));

const opts = Object.assign(
  {
    base: "http://127.0.0.1:8080",
    key: "scale-key",
    clients: 1000,
    concurrency: 50,
    messages: 20,
    messagesAfter: 10,
    authSeconds: 10,
    authConcurrency: 64,
    settleMs: 20000,
    killPid: 0,
    // Which node each app instance publishes to (instance address -> node address).
    appNodes: {},
    // Processes whose memory the report shows: name -> [pid, ...].
    watch: {},
    loginLimit: 10,
    wsLimit: 60,
  },
  JSON.parse(process.argv[2] || "{}"),
);
const BASE = new URL(opts.base);
const now = () => performance.timeOrigin + performance.now();

function say(message) {
  process.stderr.write(`[scale-client] ${message}\n`);
}

class StepError extends Error {
  constructor(step, why) {
    super(`${step}: ${why}`);
    this.step = step;
  }
}

/** The loopback address of client `i` (127.77.1.1, 127.77.1.2, …; none ends in .0 or .255). */
function addressOf(i) {
  return `127.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** p50/p99/max of a list of milliseconds. */
function percentiles(values) {
  if (values.length === 0) return { n: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x) => Math.round(x * 10) / 10;
  return { n: values.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]) };
}

/** One HTTP request through the balancer from `client`'s address. */
function request(client, method, route, body, headers) {
  return new Promise((resolve) => {
    const started = now();
    const req = http.request(
      { host: BASE.hostname, port: BASE.port, path: route, method, agent: client.agent, headers: { Cookie: client.cookie, "X-CSRF-Token": client.csrf, ...(headers || {}) } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: now() - started }));
        res.on("error", (e) => resolve({ status: 0, error: e.code || e.message, ms: now() - started }));
      },
    );
    req.setTimeout(20000, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, error: e.code || e.message, ms: now() - started }));
    req.end(body);
  });
}

// pusher-js in Node opens its WebSocket with faye-websocket, which takes `net` options: the
// client's address travels in `wsPath` (`/@127.77.1.5`), is taken out of the URL here and
// becomes the socket's local address. The balancer's `X-Upstream` header on the upgrade says
// which sockudo node the connection reached.
const nodeOf = new Map();
const createWebSocket = Pusher.Runtime.createWebSocket;
Pusher.Runtime.createWebSocket = function (url) {
  const match = /^(wss?:\/\/[^/]+)\/@([0-9.]+)(\/app\/.*)$/.exec(url);
  if (!match) return createWebSocket.call(this, url);
  const [, origin, address, rest] = match;
  const WebSocket = this.getWebSocketAPI();
  // faye-websocket reads `net` before it checks its option names, and its check lists
  // enumerable keys only: hidden from the check, `net` still reaches net.connect.
  const options = {};
  Object.defineProperty(options, "net", { value: { localAddress: address }, enumerable: false });
  const socket = new WebSocket(origin + rest, [], options);
  socket.addEventListener("open", () => nodeOf.set(address, (socket.headers || {})["x-upstream"] || "?"));
  return socket;
};
// The test clients send the session cookie themselves (pusher-js emulates a browser's XHR).
const createXHR = Pusher.Runtime.createXHR;
Pusher.Runtime.createXHR = function () {
  const xhr = createXHR.call(this);
  xhr.setDisableHeaderCheck(true);
  return xhr;
};

const stats = {
  auth: [], // every authorization's latency through the balancer (ms), in every step
  authFailures: { connect: 0, failover: 0 },
  failoverStatuses: {},
};
let phase = "connect";

/** An authorization through the balancer, for pusher-js's customHandler. */
function authorizer(client, route, body) {
  return async (callback) => {
    const res = await request(client, "POST", route, body(), { "Content-Type": "application/x-www-form-urlencoded" });
    stats.auth.push(res.ms);
    if (phase === "failover") stats.failoverStatuses[res.status] = (stats.failoverStatuses[res.status] || 0) + 1;
    if (res.status === 200) {
      try {
        return callback(null, JSON.parse(res.body));
      } catch (e) {
        // fall through: an answer that is not JSON is a failure
      }
    }
    stats.authFailures[phase] = (stats.authFailures[phase] || 0) + 1;
    callback(new Error(`${route} answered ${res.status || res.error}`), null);
  };
}

/** Waits until `test()` holds, or throws `why()` after `ms`. */
async function until(test, ms, why) {
  const started = Date.now();
  while (!test()) {
    if (Date.now() - started > ms) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `task(i)` for i in 0..n, `limit` at a time. */
async function pool(n, limit, task) {
  let next = 0;
  const errors = [];
  const worker = async () => {
    while (next < n) {
      const i = next++;
      try {
        await task(i);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return errors;
}

const clients = [];
const received = new Map(); // message id -> Set of client indexes that received it
const messages = new Map(); // message id -> { sender, node, sentAt }
const deliveries = [];
let duplicates = 0;
let ownEchoes = 0;

function onMessage(client, data) {
  const match = /^scale:(\d+):([0-9.]+)$/.exec((data && data.message) || "");
  if (!match) return;
  const id = Number(match[1]);
  const at = now();
  let seen = received.get(id);
  if (!seen) received.set(id, (seen = new Set()));
  if (seen.has(client.i)) {
    duplicates++;
    return;
  }
  const sent = messages.get(id);
  if (sent && sent.sender === client.i) {
    // "To others": the sender's own connection should not receive it. Counted, not a loss.
    ownEchoes++;
    return;
  }
  seen.add(client.i);
  // Classified once the send's answer has said where it was published (often after this).
  deliveries.push({ id, node: nodeOf.get(client.address), ms: at - Number(match[2]) });
}

/** Delivery latencies by whether the receiver's node is the one the message was published to. */
function classify() {
  const out = { same: [], cross: [], unknown: 0 };
  for (const d of deliveries) {
    const publishedTo = (messages.get(d.id) || {}).node;
    if (!publishedTo || !d.node) out.unknown++;
    else (d.node === publishedTo ? out.same : out.cross).push(d.ms);
  }
  return out;
}

async function connectClient(i) {
  const address = addressOf(i);
  const client = { i, address, agent: new http.Agent({ keepAlive: true, maxSockets: 4, localAddress: address }), cookie: "", csrf: "" };
  const login = await request(client, "POST", "/login", JSON.stringify({ name: `u${i}` }), { "Content-Type": "application/json" });
  if (login.status !== 200) throw new Error(`client ${i}: login answered ${login.status || login.error}: ${String(login.body || "").slice(0, 100)}`);
  client.cookie = String(login.headers["set-cookie"] || "").split(";")[0];
  client.csrf = JSON.parse(login.body).csrf;
  const pusher = new Pusher(opts.key, {
    cluster: "mt1",
    wsHost: BASE.hostname,
    wsPort: Number(BASE.port),
    wsPath: `/@${address}`,
    forceTLS: false,
    enabledTransports: ["ws"],
    disableStats: true,
    channelAuthorization: {
      customHandler: (params, callback) => authorizer(client, "/channels/authorize", () => `socket_id=${params.socketId}&channel_name=${encodeURIComponent(params.channelName)}`)(callback),
    },
    userAuthentication: {
      customHandler: (params, callback) => authorizer(client, "/channels/user-auth", () => `socket_id=${params.socketId}`)(callback),
    },
  });
  client.pusher = pusher;
  client.subscribed = { "private-chat": false, "presence-chat": false };
  for (const name of Object.keys(client.subscribed)) {
    const channel = pusher.subscribe(name);
    channel.bind("pusher:subscription_succeeded", () => (client.subscribed[name] = true));
    channel.bind("pusher:subscription_error", () => (client.subscribed[name] = false));
  }
  pusher.channel("private-chat").bind("send-message", (data) => onMessage(client, data));
  pusher.signin();
  clients[i] = client;
  await until(
    () => client.subscribed["private-chat"] && client.subscribed["presence-chat"] && pusher.user.user_data,
    30000,
    () => `client ${i}: not subscribed and signed in within 30 s (state ${pusher.connection.state}, ${JSON.stringify(client.subscribed)}, signed in ${Boolean(pusher.user.user_data)})`,
  );
}

function ready(c) {
  return c && c.pusher.connection.state === "connected" && c.subscribed["private-chat"] && c.subscribed["presence-chat"] && c.pusher.user.user_data;
}

/** Sends `count` messages from clients spread over the crowd; waits for every delivery. */
async function sendMessages(step, count, firstId) {
  const live = clients.filter(ready);
  if (live.length !== opts.clients) throw new StepError(step, `${opts.clients - live.length} of ${opts.clients} clients are not connected, subscribed and signed in before sending`);
  const expected = new Map();
  const failures = [];
  const echoesBefore = ownEchoes;
  const errors = await pool(count, 4, async (k) => {
    const id = firstId + k;
    const sender = live[Math.floor((k * live.length) / count) % live.length];
    const sentAt = now();
    messages.set(id, { sender: sender.i, sentAt });
    const res = await request(sender, "POST", "/channels/send-message", JSON.stringify({ message: `scale:${id}:${sentAt}` }), {
      "Content-Type": "application/json",
      "X-Socket-ID": sender.pusher.connection.socket_id,
    });
    if (res.status !== 204) {
      failures.push(`message ${id}: ${res.status || res.error} ${String(res.body || "").slice(0, 80)}`);
      return;
    }
    messages.get(id).node = opts.appNodes[res.headers["x-upstream"]];
    expected.set(id, live.length - 1); // everyone but the sender
  });
  if (errors.length) throw new StepError(step, errors[0].message);
  if (failures.length) throw new StepError(step, `${failures.length} of ${count} sends failed: ${failures[0]}`);
  const total = () => [...expected.keys()].reduce((n, id) => n + ((received.get(id) || new Set()).size), 0);
  const want = [...expected.values()].reduce((a, b) => a + b, 0);
  const started = Date.now();
  while (total() < want && Date.now() - started < opts.settleMs) await new Promise((r) => setTimeout(r, 100));
  // Anything late arrives now or never: wait a little more for duplicates to show.
  await new Promise((r) => setTimeout(r, 300));
  return { sent: count, expected: want, delivered: total(), lost: want - total(), ownEchoes: ownEchoes - echoesBefore };
}

/** Authorizations only, `authConcurrency` at once, for `authSeconds`. */
async function authorizeFor(seconds) {
  const live = clients.filter(ready);
  const latencies = [];
  const statuses = {};
  const until = Date.now() + seconds * 1000;
  let n = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: opts.authConcurrency }, async () => {
      while (Date.now() < until) {
        const c = live[n++ % live.length];
        const res = await request(c, "POST", "/channels/authorize", `socket_id=${c.pusher.connection.socket_id}&channel_name=private-chat`, { "Content-Type": "application/x-www-form-urlencoded" });
        statuses[res.status || res.error] = (statuses[res.status || res.error] || 0) + 1;
        if (res.status === 200) latencies.push(res.ms);
      }
    }),
  );
  const elapsed = (now() - started) / 1000;
  return { seconds: Math.round(elapsed * 10) / 10, ok: latencies.length, perSecond: Math.round(latencies.length / elapsed), statuses, latency: percentiles(latencies) };
}

/** nginx's login limit (in front of both instances) and sockudo's connection limit, from one address past each. */
async function limits() {
  const address = "127.78.0.1";
  const one = { address, agent: new http.Agent({ keepAlive: true, maxSockets: 8, localAddress: address }), cookie: "", csrf: "" };
  const logins = {};
  for (let k = 0; k < opts.loginLimit + 5; k++) {
    const res = await request(one, "POST", "/login", JSON.stringify({ name: `limit${k}` }), { "Content-Type": "application/json" });
    logins[res.status || res.error] = (logins[res.status || res.error] || 0) + 1;
  }
  const upgrades = {};
  const upgrade = () =>
    new Promise((resolve) => {
      const req = http.request({
        host: BASE.hostname, port: BASE.port, path: `/app/${opts.key}?protocol=7&client=js&version=8.6.0`, localAddress: address,
        headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
      });
      req.on("upgrade", (res, socket) => { socket.destroy(); resolve(101); });
      req.on("response", (res) => { res.resume(); resolve(res.statusCode); });
      req.on("error", (e) => resolve(e.code || "error"));
      req.setTimeout(10000, () => req.destroy(new Error("timeout")));
      req.end();
    });
  for (let k = 0; k < opts.wsLimit + 10; k++) {
    const status = await upgrade();
    upgrades[status] = (upgrades[status] || 0) + 1;
  }
  one.agent.destroy();
  return { logins, upgrades };
}

/** Resident memory of each watched process: null (never 0) when none of its pids can be read. */
function memory() {
  const out = {};
  for (const [name, pids] of Object.entries(opts.watch)) {
    let rss = 0;
    let peak = 0;
    let read = 0;
    for (const pid of [].concat(pids)) {
      try {
        const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
        const resident = status.match(/VmRSS:\s+(\d+)/);
        if (!resident) continue; // a zombie has no memory lines
        rss += Number(resident[1]);
        peak += Number((status.match(/VmHWM:\s+(\d+)/) || [0, 0])[1]);
        read++;
      } catch (e) {
        // gone (the killed instance), or a wrong pid
      }
    }
    out[name] = read ? { rssMiB: Math.round(rss / 102.4) / 10, peakMiB: Math.round(peak / 102.4) / 10 } : { rssMiB: null, peakMiB: null };
  }
  out["load client"] = { rssMiB: Math.round(process.memoryUsage().rss / 104857.6) / 10 };
  return out;
}

async function main() {
  const report = { clients: opts.clients };
  const t0 = now();

  // connect
  phase = "connect";
  say(`connect: ${opts.clients} clients, ${opts.concurrency} at a time`);
  const connectErrors = await pool(opts.clients, opts.concurrency, connectClient);
  const connectSeconds = (now() - t0) / 1000;
  const connected = clients.filter(ready).length;
  const nodes = {};
  for (const c of clients) if (c) nodes[nodeOf.get(c.address) || "?"] = (nodes[nodeOf.get(c.address) || "?"] || 0) + 1;
  // Every member_added of the last joins reaches the first client within a few seconds.
  const someone = clients.find(ready);
  const members = () => (someone ? someone.pusher.channel("presence-chat").members.count : 0);
  await until(() => members() === opts.clients, 15000, () => "").catch(() => {});
  report.connect = {
    connected,
    seconds: Math.round(connectSeconds * 10) / 10,
    authorizations: stats.auth.length,
    authPerSecond: Math.round(stats.auth.length / connectSeconds),
    authLatency: percentiles(stats.auth),
    failures: stats.authFailures.connect || 0,
    byNode: nodes,
    presenceMembers: members(),
  };
  report.memory = memory();
  if (connectErrors.length) throw new StepError("connect", `${connectErrors.length} of ${opts.clients} clients failed; the first: ${connectErrors[0].message}`);
  if (Object.keys(nodes).length < 2) throw new StepError("connect", `every connection reached one sockudo node (${JSON.stringify(nodes)})`);
  // What each client's presence-chat shows, and what the server lists (GET /channels/stats):
  // reported, not required (sockudo's presence across nodes under concurrent joins).
  const counts = clients.filter(ready).map((c) => c.pusher.channel("presence-chat").members.count);
  const server = await request(someone, "GET", "/channels/stats");
  report.connect.presence = {
    server: server.status === 200 ? JSON.parse(server.body).online.length : null,
    clientsMin: Math.min(...counts),
    clientsMax: Math.max(...counts),
    clientsComplete: counts.filter((n) => n === opts.clients).length,
  };
  if (report.connect.presence.server !== opts.clients) throw new StepError("connect", `the server lists ${report.connect.presence.server} presence-chat members, not ${opts.clients}`);
  say(`connect: ${connected} clients in ${report.connect.seconds} s`);

  // presence: clients whose view is incomplete join again, one at a time; each must then see
  // everyone (the server's list is complete: what they missed was a member_added).
  phase = "presence";
  const incomplete = clients.filter((c) => ready(c) && c.pusher.channel("presence-chat").members.count !== opts.clients).slice(0, 20);
  let rejoinedComplete = 0;
  for (const c of incomplete) {
    c.pusher.unsubscribe("presence-chat");
    c.subscribed["presence-chat"] = false;
    const channel = c.pusher.subscribe("presence-chat");
    channel.bind("pusher:subscription_succeeded", () => (c.subscribed["presence-chat"] = true));
    channel.bind("pusher:subscription_error", () => (c.subscribed["presence-chat"] = false));
    await until(() => c.subscribed["presence-chat"], 10000, () => `client ${c.i} did not join presence-chat again within 10 s`).catch((e) => {
      throw new StepError("presence", e.message);
    });
    if (channel.members.count === opts.clients) rejoinedComplete++;
  }
  report.connect.presence.rejoined = incomplete.length;
  report.connect.presence.rejoinedComplete = rejoinedComplete;
  if (rejoinedComplete !== incomplete.length) throw new StepError("presence", `${incomplete.length - rejoinedComplete} of ${incomplete.length} clients that joined presence-chat again still do not see all ${opts.clients} members`);

  // limits
  phase = "limits";
  report.limits = await limits();
  if (!report.limits.logins[429]) throw new StepError("limits", `${opts.loginLimit + 5} logins from one address were not limited: ${JSON.stringify(report.limits.logins)}`);
  if (!report.limits.upgrades[429]) throw new StepError("limits", `${opts.wsLimit + 10} WebSocket connections from one address were not limited: ${JSON.stringify(report.limits.upgrades)}`);

  // messages
  phase = "messages";
  say(`messages: ${opts.messages} messages to ${opts.clients - 1} receivers each`);
  report.messages = await sendMessages("messages", opts.messages, 0);
  const latency = classify();
  report.messages.sameNode = percentiles(latency.same);
  report.messages.crossNode = percentiles(latency.cross);
  report.messages.duplicates = duplicates;
  report.messages.ownEchoes = ownEchoes;
  if (report.messages.lost !== 0) throw new StepError("messages", `${report.messages.lost} of ${report.messages.expected} deliveries lost`);
  if (duplicates !== 0) throw new StepError("messages", `${duplicates} deliveries duplicated`);
  if (latency.cross.length === 0 || latency.same.length === 0) throw new StepError("messages", "no delivery crossed from one sockudo node to the other");

  // authorize
  phase = "authorize";
  say(`authorize: ${opts.authSeconds} s, ${opts.authConcurrency} at once`);
  report.authorize = await authorizeFor(opts.authSeconds);
  if (Object.keys(report.authorize.statuses).some((s) => s !== "200")) throw new StepError("authorize", `answers other than 200: ${JSON.stringify(report.authorize.statuses)}`);

  // failover
  phase = "failover";
  say(`failover: every client reconnects; app instance ${opts.killPid} is killed half way`);
  const before = stats.auth.length;
  let killedAt = null;
  await pool(opts.clients, opts.concurrency, async (i) => {
    if (i === Math.floor(opts.clients / 2) && opts.killPid) {
      killedAt = i;
      try {
        process.kill(opts.killPid, "SIGKILL");
      } catch (e) {
        throw new StepError("failover", `could not kill ${opts.killPid}: ${e.message}`);
      }
    }
    const c = clients[i];
    for (const name of Object.keys(c.subscribed)) c.subscribed[name] = false;
    c.pusher.disconnect();
    c.pusher.connect();
    await until(() => ready(c), 15000, () => "").catch(() => {});
  });
  const failed = stats.authFailures.failover || 0;
  // A client that did not come back is reconnected once more, as an app would on
  // subscription_error or signin_error: every authorization again, through whichever
  // instance is left.
  const retried = clients.filter((c) => !ready(c));
  await pool(retried.length, opts.concurrency, async (k) => {
    const c = retried[k];
    c.pusher.disconnect();
    c.pusher.connect();
    await until(() => ready(c), 15000, () => "").catch(() => {});
  });
  await until(() => clients.every(ready), 20000, () => "").catch(() => {});
  report.failover = {
    killedAtClient: killedAt,
    authorizations: stats.auth.length - before,
    failed,
    statuses: stats.failoverStatuses,
    retriedClients: retried.length,
    unrecovered: clients.filter((c) => !ready(c)).length,
  };
  if (report.failover.unrecovered) {
    const c = clients.find((x) => !ready(x));
    throw new StepError("failover", `${report.failover.unrecovered} clients are not connected, subscribed and signed in after the retry (client ${c.i}: ${c.pusher.connection.state}, ${JSON.stringify(c.subscribed)}, signed in ${Boolean(c.pusher.user.user_data)})`);
  }

  // after
  phase = "after";
  report.after = await sendMessages("after", opts.messagesAfter, opts.messages);
  if (report.after.lost !== 0) throw new StepError("after", `${report.after.lost} of ${report.after.expected} deliveries lost with one instance left`);
  report.memoryAtEnd = memory();
  report.seconds = Math.round((now() - t0) / 100) / 10;
  return report;
}

function table(r) {
  const lat = (l) => (l && l.n ? `p50 ${l.p50} ms, p99 ${l.p99} ms (${l.n})` : "none");
  const rows = [
    ["clients connected, subscribed, signed in", `${r.connect.connected} in ${r.connect.seconds} s, per node ${JSON.stringify(r.connect.byNode)}`],
    ["presence-chat members", `the server lists ${r.connect.presence.server}; clients see ${r.connect.presence.clientsMin} to ${r.connect.presence.clientsMax}, ${r.connect.presence.clientsComplete} of ${r.connect.connected} see all; ${r.connect.presence.rejoinedComplete} of ${r.connect.presence.rejoined} that joined again see all`],
    ["authorizations while connecting", `${r.connect.authorizations} (${r.connect.authPerSecond}/s), ${lat(r.connect.authLatency)}, ${r.connect.failures} failed`],
    ["authorizations alone", `${r.authorize.perSecond}/s over ${r.authorize.seconds} s, ${lat(r.authorize.latency)}`],
    ["message delivery, same node", lat(r.messages.sameNode)],
    ["message delivery, across nodes", lat(r.messages.crossNode)],
    ["messages lost", `${r.messages.lost} of ${r.messages.expected} (${r.messages.sent} messages), after the kill ${r.after.lost} of ${r.after.expected}; duplicated ${r.messages.duplicates}; received by the sender's own connection ${r.messages.ownEchoes} (after the kill ${r.after.ownEchoes})`],
    ["limits from one address", `logins ${JSON.stringify(r.limits.logins)}, WebSocket upgrades ${JSON.stringify(r.limits.upgrades)}`],
    ["one instance killed half way", `${r.failover.authorizations} re-authorizations, ${r.failover.failed} failed (${JSON.stringify(r.failover.statuses)}), ${r.failover.retriedClients} clients retried, ${r.failover.unrecovered} unrecovered`],
    ...Object.entries(r.memory).map(([name, m]) => [`memory: ${name}`, `${m.rssMiB} MiB with every client connected${m.peakMiB ? `, peak ${(r.memoryAtEnd[name] || m).peakMiB || m.peakMiB} MiB` : ""}`]),
  ];
  const width = Math.max(...rows.map((row) => row[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

main().then(
  (report) => {
    console.log(table(report));
    console.log(`SCALE-REPORT ${JSON.stringify(report)}`);
    for (const c of clients) if (c) c.pusher.disconnect();
    setTimeout(() => process.exit(0), 200);
  },
  (error) => {
    const step = error.step || phase;
    console.error(`[scale-client] step "${step}" failed: ${error.message}`);
    console.log(`SCALE-FAILED ${JSON.stringify({ step, why: error.message })}`);
    for (const c of clients) if (c) c.pusher.disconnect();
    setTimeout(() => process.exit(1), 200);
  },
);
