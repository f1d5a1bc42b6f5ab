// Attacks on the chat examples, each refused: a login flood from one address, oversized bodies,
// framing, and an authorization whose session ended while its body was being read. Each app
// runs with its default limits here (the other suites turn the per-address limits off, since
// every test client comes from 127.0.0.1).
"use strict";
const { describe, it, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");

const { authHeaders, cookieOf, post, session, sleep, startApp, startSockudo } = require("./harness");

const APPS = (process.env.E2E_APPS || "axum-chat,actix-chat,rocket-chat").split(",");

/** The app's default limits: the harness turns them off for the other suites. */
const DEFAULT_LIMITS = { CHAT_LOGIN_PER_MINUTE: "", CHAT_AUTH_PER_MINUTE: "" };

async function authorizes(s) {
  const res = await fetch(`${s.base}/channels/authorize`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...authHeaders(s) },
    body: "socket_id=1.2&channel_name=private-chat",
  });
  return res.status;
}

for (const appName of APPS) {
  describe(`${appName}: attacks`, () => {
    let node;
    let app;

    before(async () => {
      node = await startSockudo(`${appName}-hardening`);
      app = await startApp(appName, node.wsPort);
    });

    after(async () => {
      if (app) await app.close();
      if (node) await node.close();
    });

    it("a login flood from one address is throttled (429), and an idle user keeps their session", async () => {
      // An instance of its own, at the default limits, with room for 200 sessions.
      const flooded = await startApp(appName, node.wsPort, { ...DEFAULT_LIMITS, CHAT_MAX_SESSIONS: "200" });
      try {
        await flood(flooded);
      } finally {
        await flooded.close();
      }
    });

    async function flood(app) {
      const victim = await session(app.base, "victim");
      assert.equal(await authorizes(victim), 200);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const { port } = new URL(app.base);
      const statuses = {};
      const login = (name, spoofed) => new Promise((resolve) => {
        const body = JSON.stringify({ name });
        // A forged X-Forwarded-For changes nothing: the app is not behind a proxy it trusts.
        const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "X-Forwarded-For": spoofed };
        const req = http.request({ host: "127.0.0.1", port, path: "/login", method: "POST", agent, headers }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode));
        });
        req.on("error", (e) => resolve(e.code));
        req.end(body);
      });
      // Five times the session cap: before the limit, the victim was evicted.
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => login(`flood${round}-${i}`, `10.0.${round}.${i}`)));
        for (const s of answers) statuses[s] = (statuses[s] || 0) + 1;
      }
      agent.destroy();
      const victimAfter = await authorizes(victim);
      console.log(`${appName}: 1,000 logins from one address answered ${JSON.stringify(statuses)}; the idle victim's authorization answered ${victimAfter}`);
      assert.ok((statuses[429] || 0) >= 950, `the flood was not throttled: ${JSON.stringify(statuses)}`);
      assert.equal(victimAfter, 200, "the idle user was logged out by the flood");
      const refused = await fetch(`${app.base}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "one-more" }) });
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1, "no Retry-After");
      assert.deepEqual(await refused.json(), { error: { code: "too_many_requests" } });
      // Requests from loopback carrying X-Forwarded-For while no hop is trusted: the app is
      // behind a proxy it was not told about (every client would share one address). Said
      // once, not per request.
      const warnings = app.app.logTail(400).split("\n").filter((l) => /X-Forwarded-For/.test(l) && /CHAT_TRUST_HOPS/.test(l));
      assert.equal(warnings.length, 1, `expected one warning about X-Forwarded-For:\n${app.app.logTail(20)}`);
    }

    it("another spelling of /login (/%6Cogin, //login) counts against the same limits", async () => {
      // The body limit, on the instance without rate limits: a spelling the framework routes
      // to the login has the login's limit; one it does not route is a 404.
      const ann = await session(app.base, "ann-spelling");
      const bodies = {};
      for (const route of ["/%6Cogin", "//login"]) {
        const res = await fetch(`${app.base}${route}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", ...authHeaders(ann) },
          body: JSON.stringify({ name: "x".repeat(64 * 1024) }),
        });
        bodies[route] = res.status;
      }
      // The rate limit: a logged-in client (its cookie and token, renewed at each login) logs in
      // again and again under every spelling.
      const limited = await startApp(appName, node.wsPort, DEFAULT_LIMITS);
      const answers = {};
      let admitted = 0;
      try {
        const s = await session(limited.base, "spell");
        admitted++;
        for (let k = 0; k < 30; k++) {
          const route = ["/%6Cogin", "//login", "/login"][k % 3];
          const res = await fetch(`${limited.base}${route}`, {
            method: "POST",
            headers: { "Content-Type": "application/json", ...authHeaders(s) },
            body: JSON.stringify({ name: `spell${k}` }),
          });
          answers[`${route} ${res.status}`] = (answers[`${route} ${res.status}`] || 0) + 1;
          if (res.status === 200) {
            admitted++;
            s.cookie = cookieOf(res) || s.cookie;
            s.csrf = (await res.json()).csrf;
          } else {
            await res.arrayBuffer();
          }
        }
      } finally {
        await limited.close();
      }
      console.log(`${appName}: a 64 KiB login at ${JSON.stringify(bodies)}; 31 logins from one address under three spellings: ${admitted} admitted, ${JSON.stringify(answers)}`);
      for (const [route, status] of Object.entries(bodies)) assert.ok([404, 413].includes(status), `a 64 KiB login at ${route} answered ${status}`);
      assert.ok(admitted <= 10, `${admitted} logins admitted from one address in a minute (the limit is 10)`);
    });

    it("behind a proxy (CHAT_TRUST_HOPS=1) cookies are Secure by default, even bound to loopback", async () => {
      const loginCookie = async (extra) => {
        const behind = await startApp(appName, node.wsPort, extra);
        try {
          const res = await fetch(`${behind.base}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "tls" }) });
          assert.equal(res.status, 200);
          return res.headers.get("set-cookie") || "";
        } finally {
          await behind.close();
        }
      };
      const proxied = await loginCookie({ CHAT_TRUST_HOPS: "1" });
      const overridden = await loginCookie({ CHAT_TRUST_HOPS: "1", CHAT_SECURE_COOKIES: "0" });
      const local = await loginCookie({});
      console.log(`${appName}: the session cookie behind a proxy: ${proxied}; with CHAT_SECURE_COOKIES=0: ${overridden}; a local demo: ${local}`);
      assert.match(proxied, /;\s*Secure/i);
      assert.doesNotMatch(overridden, /;\s*Secure/i);
      assert.doesNotMatch(local, /;\s*Secure/i);
    });

    it("the page connects to the public WebSocket address (CHAT_WS_*), not the REST target, and its CSP says so", async () => {
      const pub = await startApp(appName, node.wsPort, { CHAT_WS_HOST: "chat.example.com", CHAT_WS_PORT: "443", CHAT_WS_TLS: "1" });
      let config;
      let csp;
      try {
        const page = await fetch(`${pub.base}/`);
        csp = page.headers.get("content-security-policy") || "";
        const html = await page.text();
        config = JSON.parse(/<script type="application\/json" id="config">(.*?)<\/script>/s.exec(html)[1]);
      } finally {
        await pub.close();
      }
      console.log(`${appName}: the page's server settings ${JSON.stringify(config.server)}; CSP ${csp}`);
      assert.equal(config.server.wsHost, "chat.example.com");
      assert.equal(config.server.wsPort, 443);
      assert.equal(config.server.wssPort, 443);
      assert.equal(config.server.forceTLS, true);
      assert.match(csp, /connect-src 'self' wss:\/\/chat\.example\.com:443;/);
      assert.doesNotMatch(csp, /127\.0\.0\.1|ws:\/\//, "the CSP names the REST target or allows plain ws://");
      // A value that would change the header's meaning stops the app at start-up.
      await assert.rejects(startApp(appName, node.wsPort, { CHAT_WS_HOST: "evil.example; script-src *" }), /CHAT_WS_HOST/);
    });

    it("bodies are limited to what each route accepts: a login, a message", async () => {
      const ann = await session(app.base, "ann-bodies");
      const send = (route, body) => fetch(`${app.base}${route}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...authHeaders(ann) },
        body,
      });
      const bigLogin = await fetch(`${app.base}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "x".repeat(64 * 1024) }) });
      const bigMessage = await send("/channels/send-message", JSON.stringify({ message: "x".repeat(512 * 1024) }));
      const bigWhisper = await send("/channels/whisper", JSON.stringify({ to: "bob", message: "x".repeat(64 * 1024) }));
      // The largest batch the chat accepts still fits: ten messages of 2,000 characters.
      const batch = await send("/channels/send-message", JSON.stringify({ messages: Array(10).fill("\u{1F600}".repeat(2000)) }));
      console.log(`${appName}: a 64 KiB login answered ${bigLogin.status}, a 512 KiB message ${bigMessage.status}, a 64 KiB whisper ${bigWhisper.status}, a batch of ten 2,000-character messages ${batch.status}`);
      assert.equal(bigLogin.status, 413, "a 64 KiB login was read");
      assert.equal(bigMessage.status, 413, "a 512 KiB message was read");
      assert.equal(bigWhisper.status, 413, "a 64 KiB whisper was read");
      assert.notEqual(batch.status, 413, "the largest valid batch was refused");
    });

    it("the page cannot be framed, runs only its own scripts, and cookies are Secure when asked", async () => {
      const page = await fetch(`${app.base}/`);
      const csp = page.headers.get("content-security-policy") || "";
      const frame = page.headers.get("x-frame-options");
      console.log(`${appName}: X-Frame-Options ${frame}; Content-Security-Policy ${csp}`);
      assert.equal(frame, "DENY");
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|\*/, "the policy lets injected scripts run");
      // No inline script at all, and one policy for every page (built at start-up from the
      // template, so nothing a rendered page contains can earn a hash).
      assert.match(csp, /script-src 'self';/);
      const html = await page.text();
      assert.match(html, /pusher/);
      const loggedIn = await session(app.base, "ann-csp");
      const own = await fetch(`${app.base}/`, { headers: { Cookie: loggedIn.cookie } });
      assert.equal(own.headers.get("content-security-policy"), csp);
      const secure = await startApp(appName, node.wsPort, { ...DEFAULT_LIMITS, CHAT_SECURE_COOKIES: "1" });
      try {
        const res = await fetch(`${secure.base}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "sam" }) });
        assert.match(res.headers.get("set-cookie") || "", /;\s*Secure/i);
      } finally {
        await secure.close();
      }
    });

    it("an authorization whose session ended while its body was being read is refused", async () => {
      const ann = await session(app.base, "ann-race");
      assert.equal(await authorizes(ann), 200);
      const { port } = new URL(app.base);
      const body = "socket_id=1.2&channel_name=private-chat";
      // The head and the first 14 bytes (Rocket reads those before routing), then the logout,
      // then the rest of the body.
      const socket = net.connect(Number(port), "127.0.0.1");
      let answer = "";
      socket.on("data", (d) => (answer += d));
      const closed = new Promise((resolve) => socket.on("close", resolve));
      await new Promise((resolve) => socket.on("connect", resolve));
      socket.write(
        `POST /channels/authorize HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${ann.cookie}\r\nX-CSRF-Token: ${ann.csrf}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 14)}`,
      );
      await sleep(300);
      const logout = await post(ann, "/logout");
      assert.equal(logout.status, 204);
      socket.write(body.slice(14));
      await Promise.race([closed, sleep(5000)]);
      socket.destroy();
      const status = Number((/^HTTP\/1\.1 (\d+)/.exec(answer) || [])[1]);
      console.log(`${appName}: an authorization whose session ended while its body was read answered ${status}: ${answer.split("\r\n\r\n")[1] || ""}`);
      assert.equal(status, 403, answer.slice(0, 200));
    });

    if (appName === "actix-chat") {
      it("actix-chat runs one worker per core of the machine", async () => {
        const workers = /(\d+) workers/.exec(app.app.logTail(400)) || [];
        assert.equal(Number(workers[1]), os.availableParallelism(), app.app.logTail(20));
      });
    }
  });
}
