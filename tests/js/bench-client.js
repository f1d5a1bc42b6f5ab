// Sends N sequential requests over one keep-alive connection and checks each answer: status
// 200, the body equal to EXPECT byte for byte (when given) or else to the first answer, every
// request after the first on the same connection, and each answered within 10 s. The fixed
// workload for scripts/bench-http-instructions.
// Usage: node bench-client.js URL METHOD N [BODY] [EXPECT]
"use strict";
const http = require("node:http");

const [url, method, n, body, expect] = [process.argv[2], process.argv[3], Number(process.argv[4]), process.argv[5] || "", process.argv[6] || ""];
if (!Number.isInteger(n) || n < 1) {
  console.error(`bench-client: N must be a positive integer, got ${process.argv[4]}`);
  process.exit(2);
}
const TIMEOUT_MS = 10_000;
let first = null;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once(i) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { "Content-Type": "application/x-www-form-urlencoded" } : {} }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) return reject(new Error(`${method} ${url}: status ${res.statusCode}: ${text.slice(0, 200)}`));
        if (expect && text !== expect) return reject(new Error(`${method} ${url}: answered ${text.slice(0, 200)}, expected ${expect}`));
        if (first === null) first = text;
        else if (text !== first) return reject(new Error(`${method} ${url}: answers differ: ${first.slice(0, 200)} then ${text.slice(0, 200)}`));
        resolve();
      });
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url}: no answer within ${TIMEOUT_MS / 1000} s (request ${i + 1})`)));
    req.on("socket", () => {
      if (i > 0 && !req.reusedSocket) req.destroy(new Error(`${method} ${url}: request ${i + 1} opened a new connection (the measurement assumes one keep-alive connection)`));
    });
    req.on("error", reject);
    req.end(body);
  });
}

(async () => {
  for (let i = 0; i < n; i++) await once(i);
  agent.destroy();
  console.error(`bench-client: ${n} answers checked (${method} ${url})`);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
