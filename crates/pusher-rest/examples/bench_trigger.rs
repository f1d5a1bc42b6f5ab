//! Load generator: triggers events as fast as a fixed number of requests in flight allows, for
//! a fixed time, against a Pusher-protocol server, and prints one JSON line with the request
//! rate, latency percentiles and the process's CPU time. `scripts/bench-rest` runs it beside
//! the Node SDK's equivalent (`tests/js/bench-rest-trigger.js`) against the same sockudo.
//!
//! Environment: `PUSHER_HOST` (default 127.0.0.1), `PUSHER_PORT`, `PUSHER_APP_ID`,
//! `PUSHER_KEY`, `PUSHER_SECRET`, `CONCURRENCY` (default 32), `DURATION_SECS` (default 10),
//! `WARMUP_SECS` (default 1). One thread, like Node's event loop.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use pusher_rest::{Client, Credentials};

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// User plus system CPU time of this process so far (all threads), from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = var("CLK_TCK", "100").parse().unwrap();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: f64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    let stime: f64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0.0);
    (utime + stime) / ticks
}

#[derive(serde::Serialize)]
struct Message<'a> {
    message: &'a str,
    sent_at: u64,
}

fn main() {
    let concurrency: usize = var("CONCURRENCY", "32").parse().unwrap();
    let duration = Duration::from_secs_f64(var("DURATION_SECS", "10").parse().unwrap());
    let warmup = Duration::from_secs_f64(var("WARMUP_SECS", "1").parse().unwrap());
    let credentials = Credentials::new(
        var("PUSHER_KEY", "app-key"),
        var("PUSHER_SECRET", "app-secret"),
    )
    .unwrap()
    .with_app_id(var("PUSHER_APP_ID", "app-id"))
    .unwrap();
    let client = Client::builder(credentials)
        .host(var("PUSHER_HOST", "127.0.0.1"))
        .port(var("PUSHER_PORT", "6001").parse().unwrap())
        .build()
        .unwrap();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    let latencies: Rc<RefCell<Vec<u32>>> = Rc::new(RefCell::new(Vec::with_capacity(1 << 20)));
    let errors = Rc::new(RefCell::new(0usize));
    let (measured, cpu) = local.block_on(&rt, async {
        let start = Instant::now();
        let measure_from = start + warmup;
        let end = measure_from + duration;
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let client = client.clone();
            let latencies = latencies.clone();
            let errors = errors.clone();
            tasks.push(tokio::task::spawn_local(async move {
                let mut n = 0u64;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let message = Message {
                        message: "hello world",
                        sent_at: n,
                    };
                    let result = client
                        .trigger(format!("bench-{}", worker % 4), "bench-event", &message)
                        .await;
                    if sent >= measure_from {
                        match result {
                            Ok(_) => latencies
                                .borrow_mut()
                                .push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32),
                            Err(e) => {
                                *errors.borrow_mut() += 1;
                                if *errors.borrow() <= 3 {
                                    eprintln!("bench_trigger: {e}");
                                }
                            }
                        }
                    }
                    n += 1;
                }
            }));
        }
        // CPU time is read at the start and the end of the measured window.
        tokio::time::sleep_until(measure_from.into()).await;
        let cpu_start = cpu_seconds();
        for t in tasks {
            t.await.unwrap();
        }
        (measure_from.elapsed(), cpu_seconds() - cpu_start)
    });
    let mut lat = latencies.borrow().clone();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        f64::from(lat[i]) / 1000.0
    };
    let secs = measured.as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "client": "pusher-rest",
            "concurrency": concurrency,
            "requests": lat.len(),
            "errors": *errors.borrow(),
            "seconds": secs,
            "rps": lat.len() as f64 / secs,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "cpu_seconds": cpu,
            "requests_per_cpu_second": if cpu > 0.0 { lat.len() as f64 / cpu } else { 0.0 },
        })
    );
}
