// Signing oracle: the official Node SDK (npm `pusher`, pinned in package-lock.json) answers
// the cases the Rust differential tests generate.
//
// Input on stdin: a JSON array of cases. Output on stdout: a JSON array, one entry per case,
// `{"ok": <SDK result>}` or `{"err": "<SDK error message>"}`.
"use strict";
const path = require("path");

// REST requests (ops "rest_sign", "rest_request"): the SDK's HTTP calls go through a hook that
// records them instead of sending them, its clock and its nonce source can be fixed. The hook
// is installed before the SDK loads, since the SDK keeps its own reference to `fetch`; while
// no hook is set, every call goes to the real `fetch`.
const pusherDir = path.dirname(require.resolve("pusher/package.json"));
const nodeFetch = require(require.resolve("node-fetch", { paths: [pusherDir] }));
const nacl = require(require.resolve("tweetnacl", { paths: [pusherDir] }));
const realFetch = nodeFetch.default;
let fetchHook = null;
nodeFetch.default = (...args) => (fetchHook ? fetchHook(...args) : realFetch(...args));

const Pusher = require("pusher");
const Token = require("pusher/lib/token");
const requests = require("pusher/lib/requests");

/** Runs `f` with `Date.now()` at `timestamp` seconds and `nacl.randomBytes` handing out `nonces`. */
function withClock(timestamp, nonces, f) {
  const now = Date.now;
  const randomBytes = nacl.randomBytes;
  const queue = (nonces || []).map((n) => new Uint8Array(Buffer.from(n, "base64")));
  Date.now = () => timestamp * 1000;
  nacl.randomBytes = (n) => {
    const next = queue.shift();
    if (!next || next.length !== n) throw new Error(`no ${n}-byte nonce left for this case`);
    return next;
  };
  try {
    return f();
  } finally {
    Date.now = now;
    nacl.randomBytes = randomBytes;
  }
}

/** The SDK call a "rest_request" case names, its requests recorded rather than sent. */
function restRequest(c) {
  const options = { appId: c.app_id, key: c.key, secret: c.secret, host: "127.0.0.1", port: 1 };
  if (c.master_key_base64) options.encryptionMasterKeyBase64 = c.master_key_base64;
  const pusher = new Pusher(options);
  const sent = [];
  fetchHook = (url, init) => {
    sent.push({ url, method: init.method, body: init.body === undefined ? null : init.body });
    return Promise.resolve({ status: 200, text: () => Promise.resolve("{}"), json: () => Promise.resolve({}) });
  };
  try {
    withClock(c.timestamp, c.nonces, () => {
      const call = c.call;
      const params = call.params ? Object.fromEntries(call.params) : undefined;
      switch (call.fn) {
        case "trigger":
          return pusher.trigger(call.channels, call.event, call.data, params);
        case "triggerBatch":
          return pusher.triggerBatch(
            call.batch.map((e) => {
              const item = { channel: e.channel, name: e.name, data: e.data };
              if (e.socket_id !== undefined) item.socket_id = e.socket_id;
              if (e.info !== undefined) item.info = e.info;
              return item;
            }),
          );
        case "sendToUser":
          return pusher.sendToUser(call.user_id, call.event, call.data);
        case "terminateUserConnections":
          return pusher.terminateUserConnections(call.user_id);
        case "get":
          return pusher.get({ path: call.path, params });
        default:
          throw new Error(`unknown call ${call.fn}`);
      }
    });
  } finally {
    fetchHook = null;
  }
  const base = "http://127.0.0.1:1";
  return sent.map((r) => {
    const rest = r.url.startsWith(base) ? r.url.slice(base.length) : r.url;
    const q = rest.indexOf("?");
    return { method: r.method, path: rest.slice(0, q), query: rest.slice(q + 1), body: r.body };
  });
}

function client(c) {
  const options = { appId: "1", key: c.key, secret: c.secret, cluster: "mt1" };
  if (c.master_key_base64) options.encryptionMasterKeyBase64 = c.master_key_base64;
  return new Pusher(options);
}

function run(c) {
  const pusher = client(c);
  switch (c.op) {
    case "channel":
      return pusher.authorizeChannel(c.socket_id, c.channel, c.data === null ? undefined : c.data);
    case "user":
      return pusher.authenticateUser(c.socket_id, c.user_data);
    case "webhook": {
      const webhook = pusher.webhook({
        headers: {
          "x-pusher-key": c.key_header,
          "x-pusher-signature": c.signature,
          "content-type": "application/json",
        },
        rawBody: c.body,
      });
      const valid = webhook.isValid();
      return { valid, events: valid ? webhook.getEvents() : null, time_ms: valid ? webhook.getData().time_ms : null };
    }
    case "rest_sign":
      // The SDK's own signing function, on the case's method, path, params and body.
      return withClock(c.timestamp, [], () =>
        requests.createSignedQueryString(new Token(c.key, c.secret), {
          method: c.method,
          path: c.path,
          params: c.params ? Object.fromEntries(c.params) : undefined,
          body: c.body,
        }),
      );
    case "rest_request":
      return restRequest(c);
    case "secretbox_open": {
      // What pusher-js does with an encrypted event: the channel key from the SDK
      // (SHA-256 of channel name and master key), tweetnacl's secretbox.open, UTF-8 decoding,
      // then JSON.parse when the text parses (encrypted_channel.ts getDataToEmit).
      const key = pusher.channelSharedSecret(c.channel);
      const payload = JSON.parse(c.data);
      const opened = nacl.secretbox.open(
        new Uint8Array(Buffer.from(payload.ciphertext, "base64")),
        new Uint8Array(Buffer.from(payload.nonce, "base64")),
        new Uint8Array(key),
      );
      if (opened === null) return { opened: false };
      const text = Buffer.from(opened).toString("utf8");
      let emitted;
      try {
        emitted = JSON.parse(text);
      } catch {
        emitted = text;
      }
      return { opened: true, text, emitted };
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const cases = JSON.parse(input);
  const out = cases.map((c) => {
    try {
      return { ok: run(c) };
    } catch (e) {
      return { err: String(e && e.message ? e.message : e) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
