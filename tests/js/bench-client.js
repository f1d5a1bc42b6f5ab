// Sends N sequential requests over one keep-alive connection and checks each answer's status:
// the fixed workload for scripts/bench-http-instructions.
// Usage: node bench-client.js URL METHOD N [BODY]
"use strict";
const http = require("node:http");

const [url, method, n, body] = [process.argv[2], process.argv[3], Number(process.argv[4]), process.argv[5] || ""];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once() {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { "Content-Type": "application/x-www-form-urlencoded" } : {} }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

(async () => {
  for (let i = 0; i < n; i++) await once();
  agent.destroy();
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
