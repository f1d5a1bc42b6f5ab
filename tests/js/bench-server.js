// The peer users would pick instead: Node's `http` server signing with the official SDK
// (npm `pusher` 5.3.4), as its documentation shows, for `scripts/bench-http`.
// Usage: node bench-server.js PORT
"use strict";
const http = require("http");
const Pusher = require("pusher");

const pusher = new Pusher({ appId: "1", key: "278d425bdf160c739803", secret: "7ad3773142a6692b25b8", cluster: "mt1" });
const port = Number(process.argv[2]);

http
  .createServer((req, res) => {
    if (req.method === "POST" && req.url === "/pusher/auth") {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        try {
          const auth = pusher.authorizeChannel(form.get("socket_id"), form.get("channel_name"));
          res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
          res.end(JSON.stringify(auth));
        } catch (e) {
          res.writeHead(400, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ error: String(e.message) }));
        }
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  })
  .listen(port, "127.0.0.1");
