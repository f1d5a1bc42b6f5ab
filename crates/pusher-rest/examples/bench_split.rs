//! Split operations, timed: a trigger on 300 channels (three requests) and a batch of 25 events
//! (three requests), each sent with its requests in flight together (the default
//! `split_concurrency`) and one after another (`split_concurrency(1)`), interleaved, against a
//! Pusher-protocol server. Prints one JSON line per operation and mode with the median and p90
//! wall time. `scripts/bench-rest` runs it against a local sockudo through a relay on 127.0.0.1
//! that adds `ADDED_LATENCY_MS` each way (a network between app and server; 0 for none) and
//! counts the HTTP requests that pass: every operation must have sent exactly three, so a
//! client that stopped splitting (or split differently) fails the run instead of looking fast.
//!
//! Environment: `PUSHER_HOST` (default 127.0.0.1), `PUSHER_PORT`, `PUSHER_APP_ID`, `PUSHER_KEY`,
//! `PUSHER_SECRET`, `ITERATIONS` (default 200), `ADDED_LATENCY_MS` (default 0). Any failed
//! operation ends the run with an error: a figure is printed only for operations the server
//! accepted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pusher_rest::{BatchEvent, Client, Credentials, DEFAULT_SPLIT_CONCURRENCY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The start of every request the client sends (the REST API's paths all begin with `/apps/`).
/// Matched anywhere in what the client sends: the events' data here never contains it.
const REQUEST_LINE: &[u8] = b"POST /apps/";

/// Counts the request lines in a byte stream read in chunks (a line may straddle two chunks).
struct RequestCounter {
    requests: Arc<AtomicUsize>,
    tail: Vec<u8>,
}

impl RequestCounter {
    fn feed(&mut self, chunk: &[u8]) {
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk);
        let found = window
            .windows(REQUEST_LINE.len())
            .filter(|w| *w == REQUEST_LINE)
            .count();
        self.requests.fetch_add(found, Ordering::SeqCst);
        // Keep what could be the start of a request line cut by the chunk boundary.
        let keep = (REQUEST_LINE.len() - 1).min(window.len());
        self.tail = window.split_off(window.len() - keep);
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read (order kept), counting request
/// lines when given a counter.
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    mut counter: Option<RequestCounter>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            if !delay.is_zero() {
                tokio::time::sleep_until(due.into()).await;
            }
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(counter) = counter.as_mut() {
                    counter.feed(&buf[..n]);
                }
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// A relay on 127.0.0.1 to `upstream` that delays every chunk by `delay` in each direction and
/// counts the requests sent through it in `requests`.
async fn relay(upstream: SocketAddr, delay: Duration, requests: Arc<AtomicUsize>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = RequestCounter {
                requests: requests.clone(),
                tail: Vec::new(),
            };
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(
                    delayed_copy(cr, sw, delay, Some(counter)),
                    delayed_copy(sr, cw, delay, None)
                );
            });
        }
    });
    addr
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iterations: usize = var("ITERATIONS", "200").parse().unwrap();
    let latency = Duration::from_millis(var("ADDED_LATENCY_MS", "0").parse().unwrap());
    let host = var("PUSHER_HOST", "127.0.0.1");
    let port: u16 = var("PUSHER_PORT", "6001").parse().unwrap();
    let credentials = Credentials::new(
        var("PUSHER_KEY", "app-key"),
        var("PUSHER_SECRET", "app-secret"),
    )
    .unwrap()
    .with_app_id(var("PUSHER_APP_ID", "app-id"))
    .unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let upstream = tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap();
    // The relay runs on a thread and runtime of its own, so that its copying does not take
    // turns with the client being timed.
    let (tx, rx) = std::sync::mpsc::channel();
    let counter = requests.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tx.send(relay(upstream, latency, counter).await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    let port = rx.recv().unwrap().port();
    let host = "127.0.0.1".to_owned();
    let client = |concurrency: usize| {
        Client::builder(credentials.clone())
            .host(host.clone())
            .port(port)
            .split_concurrency(concurrency)
            .build()
            .unwrap()
    };
    let modes = [
        ("concurrent", client(DEFAULT_SPLIT_CONCURRENCY)),
        ("sequential", client(1)),
    ];
    let channels: Vec<String> = (0..300).map(|i| format!("bench-split-{i}")).collect();
    let batch = || -> Vec<BatchEvent> {
        (0..25)
            .map(|i| BatchEvent::new(format!("bench-batch-{i}"), "bench-event", &i).unwrap())
            .collect()
    };
    // Warm-up: a connection per request in flight, in both modes.
    for (_, c) in &modes {
        for _ in 0..3 {
            c.trigger(&channels, "bench-event", "warm-up")
                .await
                .unwrap();
            c.trigger_batch(batch()).await.unwrap();
        }
    }
    // Every operation must have sent its three requests through the relay.
    let sent = |before: usize, operation: &str| {
        let n = requests.load(Ordering::SeqCst) - before;
        if n != 3 {
            eprintln!("bench_split: the {operation} sent {n} requests, 3 expected");
            std::process::exit(1);
        }
        n
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let mut counted = [0usize; 4];
    for _ in 0..iterations {
        for (m, (_, c)) in modes.iter().enumerate() {
            let before = requests.load(Ordering::SeqCst);
            let started = Instant::now();
            if let Err(e) = c.trigger(&channels, "bench-event", "{\"n\":1}").await {
                eprintln!("bench_split: the 300-channel trigger failed: {e}");
                std::process::exit(1);
            }
            times[m * 2].push(started.elapsed().as_secs_f64() * 1000.0);
            counted[m * 2] += sent(before, "300-channel trigger");
            let before = requests.load(Ordering::SeqCst);
            let started = Instant::now();
            if let Err(e) = c.trigger_batch(batch()).await {
                eprintln!("bench_split: the 25-event batch failed: {e}");
                std::process::exit(1);
            }
            times[m * 2 + 1].push(started.elapsed().as_secs_f64() * 1000.0);
            counted[m * 2 + 1] += sent(before, "25-event batch");
        }
    }
    for (m, (mode, _)) in modes.iter().enumerate() {
        for (o, operation) in ["trigger_300_channels", "batch_25_events"]
            .iter()
            .enumerate()
        {
            let mut t = times[m * 2 + o].clone();
            t.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "{}",
                serde_json::json!({
                    "operation": operation,
                    "mode": mode,
                    "requests_per_operation": 3,
                    // The requests the relay saw for the timed operations of this row.
                    "requests_counted": counted[m * 2 + o],
                    "added_latency_ms": latency.as_millis() as u64,
                    "iterations": t.len(),
                    "p50_ms": percentile(&t, 0.5),
                    "p90_ms": percentile(&t, 0.9),
                })
            );
        }
    }
}
