// The end-to-end harness: starts sockudo and a chat example on free loopback ports, logs users
// in, and builds pusher-js clients that reach the app's auth endpoints.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const { nginxConfig } = require("./nginx-config");

// On a Node.js major version the suite is not tested on, every test file fails here, saying so.
require("./node-version").checkNodeVersion();

const ROOT = path.resolve(__dirname, "../..");
const APP = { id: "e2e-app", key: "e2e-key", secret: "e2e-secret" };
const MASTER_KEY = "zyrm8pvV2C9fJcBfhyXzvxbJVN/H7QLmbe0xJi1GhPU=";
const OUTPUT = path.join(ROOT, "test-output");

function need(file, hint) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
  return file;
}

function sockudoBinary() {
  const bin = process.env.SOCKUDO_BIN;
  if (!bin) throw new Error("SOCKUDO_BIN is not set; run the suite through scripts/test (it installs sockudo with scripts/install-sockudo)");
  return need(bin, "run scripts/install-sockudo");
}

function appBinary(name) {
  const dir = process.env.E2E_TARGET_DIR || path.join(ROOT, "target/debug");
  return need(path.join(dir, name), `build it with cargo build -p ${name}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitPort(port, proc, name, timeoutMs = 20000) {
  try {
    await waitPortOnce(port, proc, name, timeoutMs);
  } catch (error) {
    // A process that did not come up is stopped (SIGTERM first, so that nginx's master takes
    // its workers with it), so that it cannot keep the suite alive.
    await stop(proc);
    throw error;
  }
}

async function waitPortOnce(port, proc, name, timeoutMs) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}:\n${proc.logTail()}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms:\n${proc.logTail()}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts a process whose output is kept for failure reports. */
function start(name, command, args, env) {
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  const keep = (chunk) => {
    for (const line of String(chunk).split("\n")) if (line) lines.push(line);
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  proc.logTail = (n = 40) => `--- last lines of ${name} ---\n${lines.slice(-n).join("\n")}`;
  return proc;
}

function stop(proc) {
  if (proc && proc.proc) proc = proc.proc;
  return new Promise((resolve) => {
    if (!proc || proc.exitCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
    setTimeout(() => proc.exitCode === null && proc.kill("SIGKILL"), 3000).unref();
  });
}

/** The app's environment: credentials, the Pusher server, test mode and short timeouts. */
function appEnv(wsPort, httpPort, extra) {
  return {
    PUSHER_APP_ID: APP.id,
    PUSHER_KEY: APP.key,
    PUSHER_SECRET: APP.secret,
    PUSHER_ENCRYPTION_MASTER_KEY_BASE64: MASTER_KEY,
    PUSHER_HOST: "127.0.0.1",
    PUSHER_PORT: String(wsPort),
    PUSHER_SCHEME: "http",
    CHAT_ADDR: `127.0.0.1:${httpPort}`,
    CHAT_TEST_MODE: "1",
    CHAT_HEADER_TIMEOUT_MS: "1000",
    CHAT_BODY_TIMEOUT_MS: "1000",
    CHAT_REQUEST_TIMEOUT_MS: "4000",
    RUST_LOG: "info,pusher_auth=debug",
    // Every test client comes from 127.0.0.1: the per-address limits are off here, and on at
    // their defaults in hardening.test.js, which tests them.
    CHAT_LOGIN_PER_MINUTE: "0",
    CHAT_AUTH_PER_MINUTE: "0",
    ...(extra || {}),
  };
}

/**
 * Starts one more instance of the example, with `extra` environment (or a function of the
 * port that returns it), on a free port.
 */
async function startApp(appName, wsPort, extra, wrapper) {
  const httpPort = await freePort();
  const more = typeof extra === "function" ? extra(httpPort) : extra;
  // `wrapper`: a command that runs the app, such as ["prlimit", "--nofile=1024", "--"].
  const [command, ...args] = [...(wrapper || []), appBinary(appName)];
  const app = start(appName, command, args, appEnv(wsPort, httpPort, more));
  await waitPort(httpPort, app, appName);
  return { app, base: `http://127.0.0.1:${httpPort}`, close: () => stop(app) };
}

/** Starts `redis-server` (Debian's) on a free loopback port, with no persistence. */
async function startRedis() {
  const port = await freePort();
  const bin = process.env.REDIS_SERVER || "/usr/bin/redis-server";
  need(bin, "scripts/install-test-tools installs Debian's redis-server");
  const redis = start("redis", bin, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], {});
  await waitPort(port, redis, "redis-server");
  return { port, url: `redis://127.0.0.1:${port}`, proc: redis, close: () => stop(redis) };
}

/** Starts one sockudo node; with `redisPort`, on the Redis adapter (nodes share channels). */
async function startSockudo(name, webhookBase, redisPort) {
  const wsPort = await freePort();
  fs.mkdirSync(OUTPUT, { recursive: true });
  const config = {
    host: "127.0.0.1",
    port: wsPort,
    // Webhooks need a queue; the in-memory one needs no other server. No metrics listener.
    queue: { driver: "memory" },
    metrics: { enabled: false },
    // Every test client connects from 127.0.0.1: sockudo's per-IP limits would refuse them.
    rate_limiter: { enabled: false },
    ...(redisPort
      ? {
          adapter: { driver: "redis", redis: { prefix: "e2e" } },
          cache: { driver: "redis" },
          database: { redis: { host: "127.0.0.1", port: redisPort } },
        }
      : {}),
    app_manager: {
      driver: "memory",
      array: {
        apps: [
          {
            id: APP.id,
            key: APP.key,
            secret: APP.secret,
            enabled: true,
            policy: {
              features: { enable_client_messages: true, enable_user_authentication: true },
              webhooks: webhookBase ? [{ url: `${webhookBase}/pusher/webhooks`, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] : [],
            },
          },
        ],
      },
    },
  };
  const configFile = path.join(OUTPUT, `sockudo-${name}.json`);
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  // The app, with its webhooks, comes from the config file (a default app from the
  // SOCKUDO_DEFAULT_APP_* variables would replace it); HOST and PORT agree with the file.
  const sockudo = start(`sockudo ${name}`, sockudoBinary(), ["--config", configFile], { HOST: "127.0.0.1", PORT: String(wsPort) });
  await waitPort(wsPort, sockudo, "sockudo");
  return { wsPort, proc: sockudo, close: () => stop(sockudo) };
}

/**
 * Starts Debian's nginx with deploy/nginx.conf, its addresses moved to free loopback ports
 * (nginx-config.js): the balancer in front of `apps` (base URLs) and the sockudo node on
 * `wsPort` (or the nodes `options.nodes`, host:port); `options.serverExtra`, lines added to
 * its server block.
 */
async function startNginx(apps, wsPort, options = {}) {
  const port = await freePort();
  const prefix = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "e2e-nginx-"));
  fs.mkdirSync(path.join(prefix, "logs"));
  fs.mkdirSync(path.join(prefix, "tmp"));
  const conf = nginxConfig({
    listen: port,
    apps: apps.map((b) => new URL(b).host),
    nodes: options.nodes || [`127.0.0.1:${wsPort}`],
    serverExtra: options.serverExtra,
    mapSource: options.mapSource,
  });
  fs.writeFileSync(path.join(prefix, "nginx.conf"), conf);
  const bin = process.env.NGINX || "/usr/sbin/nginx";
  need(bin, "scripts/install-test-tools installs Debian's nginx-light");
  const user = process.getuid && process.getuid() === 0 ? "user root;" : "";
  const nginx = start("nginx", bin, ["-p", `${prefix}/`, "-c", path.join(prefix, "nginx.conf"), "-g", `daemon off; ${user}`], {});
  await waitPort(port, nginx, "nginx");
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    proc: nginx,
    close: async () => { await stop(nginx); fs.rmSync(prefix, { recursive: true, force: true }); },
  };
}

/**
 * Starts sockudo (with webhooks to the app) and the example `appName`.
 * Returns { base, wsPort, sockudo, app, close(), logs() }.
 */
async function startStack(appName) {
  const httpPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const node = await startSockudo(appName, base);
  let app;
  try {
    app = start(appName, appBinary(appName), [], appEnv(node.wsPort, httpPort));
    await waitPort(httpPort, app, appName);
  } catch (error) {
    // The app did not start: stop sockudo too, or its open pipes keep this file's process
    // (and the whole suite) waiting for ever instead of reporting the failure.
    await node.close();
    throw error;
  }
  return {
    base,
    wsPort: node.wsPort,
    sockudo: node.proc,
    app,
    logs: () => `${node.proc.logTail()}\n${app.logTail()}`,
    close: async () => { await stop(app); await node.close(); },
  };
}

/** The session cookie a response sets, as `name=value`. */
function cookieOf(response) {
  return (response.headers.get("set-cookie") || "").split(";")[0];
}

/**
 * A browser-less session: anonymous (no cookie: the app keeps no state for a visitor), or
 * logged in by name (the cookie and the CSRF token the login answers with).
 */
async function session(base, name) {
  const s = { base, csrf: "", cookie: "", name };
  if (name) await login(s, name);
  return s;
}

/** Logs `s` in as `name`: a new session cookie and CSRF token. */
async function login(s, name) {
  const res = await post(s, "/login", { name });
  if (res.status !== 200) throw new Error(`login as ${name} answered ${res.status}: ${await res.text()}`);
  const cookie = cookieOf(res);
  if (!cookie) throw new Error(`login as ${name} set no session cookie`);
  s.cookie = cookie;
  s.csrf = (await res.json()).csrf;
  s.name = name;
  return s;
}

function post(s, route, body, headers) {
  return fetch(`${s.base}${route}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf, Cookie: s.cookie, ...(headers || {}) },
    body: JSON.stringify(body || {}),
  });
}

function get(s, route) {
  return fetch(`${s.base}${route}`, { headers: { Cookie: s.cookie } });
}

/** Headers a Node client sends to the auth endpoints: the session cookie and CSRF token. */
function authHeaders(s) {
  return { "X-CSRF-Token": s.csrf, Cookie: s.cookie };
}

/** How every client reaches the local sockudo. */
function connectionOptions(stack) {
  return { cluster: "mt1", wsHost: "127.0.0.1", wsPort: stack.wsPort, forceTLS: false, enabledTransports: ["ws"], disableStats: true };
}

function pusherOptions(stack, s, extra) {
  return Object.assign(
    connectionOptions(stack),
    {
      channelAuthorization: { endpoint: `${stack.base}/channels/authorize`, transport: "ajax", headers: authHeaders(s) },
      userAuthentication: { endpoint: `${stack.base}/channels/user-auth`, transport: "ajax", headers: authHeaders(s) },
    },
    extra || {},
  );
}

/** Waits for `event` on `emitter` (a pusher-js channel or the connection), with a timeout. */
function once(target, event, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    const handler = (data) => {
      clearTimeout(timer);
      target.unbind(event, handler);
      resolve(data);
    };
    target.bind(event, handler);
  });
}

/**
 * Waits for the first `event` on `target` whose data satisfies `matches`, with a timeout that
 * names what did arrive.
 */
function until(target, event, matches, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const timer = setTimeout(() => {
      target.unbind(event, handler);
      reject(new Error(`no matching ${event} within ${timeoutMs} ms; received ${JSON.stringify(seen)}`));
    }, timeoutMs);
    const handler = (data) => {
      seen.push(data);
      if (!matches(data)) return;
      clearTimeout(timer);
      target.unbind(event, handler);
      resolve(data);
    };
    target.bind(event, handler);
  });
}

/** Subscribes and resolves with "ok" or the subscription error. */
function subscribe(pusher, name, timeoutMs = 10000) {
  const channel = pusher.subscribe(name);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: neither subscription_succeeded nor subscription_error within ${timeoutMs} ms`)), timeoutMs);
    channel.bind("pusher:subscription_succeeded", (data) => { clearTimeout(timer); resolve({ channel, ok: true, data }); });
    channel.bind("pusher:subscription_error", (error) => { clearTimeout(timer); resolve({ channel, ok: false, error }); });
  });
}

async function connected(pusher) {
  if (pusher.connection.state === "connected") return;
  await once(pusher.connection, "connected");
}

/**
 * pusher-js in Node emulates the browser's XMLHttpRequest, including its refusal to set a
 * `Cookie` header (a browser sends the cookie by itself). The test clients send the session
 * cookie explicitly, so lift that check for them.
 */
function allowCookieHeader(Pusher) {
  const createXHR = Pusher.Runtime.createXHR;
  Pusher.Runtime.createXHR = function () {
    const xhr = createXHR.call(this);
    xhr.setDisableHeaderCheck(true);
    return xhr;
  };
}

/** Resident memory of a process, in KiB. */
function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]);
}

module.exports = { APP, MASTER_KEY, OUTPUT, ROOT, allowCookieHeader, authHeaders, connected, connectionOptions, cookieOf, get, login, once, post, pusherOptions, rssKiB, session, sleep, startApp, startNginx, startRedis, startSockudo, startStack, stop, subscribe, until };
