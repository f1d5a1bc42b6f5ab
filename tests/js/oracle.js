// Signing oracle: the official Node SDK (npm `pusher`, pinned in package-lock.json) answers
// the cases the Rust differential tests generate.
//
// Input on stdin: a JSON array of cases. Output on stdout: a JSON array, one entry per case,
// `{"ok": <SDK result>}` or `{"err": "<SDK error message>"}`.
"use strict";
const Pusher = require("pusher");

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
