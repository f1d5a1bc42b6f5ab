// Times the official Node SDK's REST request signing (`createSignedQueryString` of npm
// `pusher`: body_md5, sorted parameters, HMAC-SHA256) on the inputs of the Rust benchmark
// `sign_trigger` (crates/pusher-rest/benches/rest.rs): both read bench-rest-sign-input.json.
// Prints one JSON line with the median nanoseconds per call over several rounds and the signed
// query string the SDK produced (at the input's timestamp), which the Rust benchmark compares
// with its own. Environment: ROUNDS (default 15), CALLS per round (default 100000); CHECK=1
// prints only the signed query string, without timing.
"use strict";
const path = require("path");
const Token = require("pusher/lib/token");
const requests = require("pusher/lib/requests");

const input = require(path.join(__dirname, "bench-rest-sign-input.json"));
const token = new Token(input.key, input.secret);
const request = { method: input.method, path: input.path, body: input.body };
const rounds = Number(process.env.ROUNDS || 15);
const calls = Number(process.env.CALLS || 100000);

// The signed query string at the input's timestamp (the SDK reads the clock itself).
function signedAtInputTime() {
  const now = Date.now;
  Date.now = () => input.timestamp * 1000;
  try {
    return requests.createSignedQueryString(token, request);
  } finally {
    Date.now = now;
  }
}
const signed = signedAtInputTime();
if (process.env.CHECK === "1") {
  console.log(JSON.stringify({ query: signed }));
  process.exit(0);
}

let sink = 0;
for (let i = 0; i < calls; i++) sink += requests.createSignedQueryString(token, request).length; // warm-up
const perCall = [];
for (let r = 0; r < rounds; r++) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += requests.createSignedQueryString(token, request).length;
  perCall.push(Number(process.hrtime.bigint() - start) / calls);
}
perCall.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    sdk: "node-pusher-5.3.4",
    op: "createSignedQueryString",
    median_ns: perCall[Math.floor(perCall.length / 2)],
    min_ns: perCall[0],
    max_ns: perCall[perCall.length - 1],
    sink: sink > 0,
    query: signed,
  }),
);
