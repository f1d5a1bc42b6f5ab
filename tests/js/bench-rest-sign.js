// Times the official Node SDK's REST request signing (`createSignedQueryString` of npm
// `pusher`: body_md5, sorted parameters, HMAC-SHA256) on the inputs of the Rust benchmark
// `sign_trigger` (crates/pusher-rest/benches/rest.rs), and prints one JSON line with the median
// nanoseconds per call over several rounds. Environment: ROUNDS (default 15), CALLS per round
// (default 100000).
"use strict";
const Token = require("pusher/lib/token");
const requests = require("pusher/lib/requests");

const token = new Token("278d425bdf160c739803", "7ad3773142a6692b25b8");
const body = '{"name":"my-event","data":"{\\"message\\":\\"hello world\\"}","channels":["my-channel"]}';
const request = { method: "POST", path: "/apps/1/events", body };
const rounds = Number(process.env.ROUNDS || 15);
const calls = Number(process.env.CALLS || 100000);

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
  }),
);
