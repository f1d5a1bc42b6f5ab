// Load generator with the official Node SDK (npm `pusher`): triggers events with a fixed
// number of requests in flight, for a fixed time, and prints one JSON line with the request
// rate, latency percentiles and the process's CPU time. The twin of the Rust example
// `bench_trigger` of crates/pusher-rest; scripts/bench-rest runs both against the same server.
//
// Environment: PUSHER_HOST (default 127.0.0.1), PUSHER_PORT, PUSHER_APP_ID, PUSHER_KEY,
// PUSHER_SECRET, CONCURRENCY (default 32), DURATION_SECS (default 10), WARMUP_SECS (default 1).
// The SDK gets a keep-alive agent with one socket per request in flight (its default agent
// would open a connection per request on older Node versions).
"use strict";
const http = require("http");
const Pusher = require("pusher");

const env = (name, fallback) => process.env[name] || fallback;
const concurrency = Number(env("CONCURRENCY", "32"));
const duration = Number(env("DURATION_SECS", "10")) * 1000;
const warmup = Number(env("WARMUP_SECS", "1")) * 1000;

const pusher = new Pusher({
  appId: env("PUSHER_APP_ID", "app-id"),
  key: env("PUSHER_KEY", "app-key"),
  secret: env("PUSHER_SECRET", "app-secret"),
  host: env("PUSHER_HOST", "127.0.0.1"),
  port: env("PUSHER_PORT", "6001"),
  useTLS: false,
  agent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
});

async function main() {
  const start = performance.now();
  const measureFrom = start + warmup;
  const end = measureFrom + duration;
  const latencies = [];
  let errors = 0;
  let cpuStart = null;
  setTimeout(() => {
    cpuStart = process.cpuUsage();
  }, warmup);
  const worker = async (w) => {
    for (let n = 0; ; n++) {
      const sent = performance.now();
      if (sent >= end) return;
      try {
        await pusher.trigger(`bench-${w % 4}`, "bench-event", { message: "hello world", sent_at: n });
        if (sent >= measureFrom) latencies.push(performance.now() - sent);
      } catch (e) {
        if (sent >= measureFrom && ++errors <= 3) console.error(`bench-rest-trigger: ${e.message} ${e.status || ""} ${e.body || ""}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (performance.now() - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.max(1, Math.ceil(latencies.length * p)) - 1] : 0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    JSON.stringify({
      client: "node-pusher-5.3.4",
      concurrency,
      requests: latencies.length,
      errors,
      seconds,
      rps: latencies.length / seconds,
      p50_ms: pct(0.5),
      p99_ms: pct(0.99),
      cpu_seconds: cpuSeconds,
      requests_per_cpu_second: cpuSeconds > 0 ? latencies.length / cpuSeconds : 0,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
