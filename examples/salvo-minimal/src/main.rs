//! Serves [`salvo_minimal::app`]: `PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p
//! salvo-minimal`, on `SALVO_ADDR` (default `127.0.0.1:3004`).

use pusher_auth::Credentials;
use pusher_auth_tower::PusherAuthLayer;
use salvo::conn::TcpListener;
use salvo::{Listener, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pusher = PusherAuthLayer::new(salvo_minimal::endpoints(Credentials::from_env()?));
    // A fresh key per run logs everyone out on restart; a real app loads a fixed one.
    let key = salvo::http::cookie::Key::generate();
    let app = salvo_minimal::app(&pusher, key.master())?;
    let addr = std::env::var("SALVO_ADDR").unwrap_or_else(|_| "127.0.0.1:3004".into());
    println!("listening on http://{addr}");
    let acceptor = TcpListener::new(addr).bind().await;
    Server::new(acceptor).serve(app).await;
    Ok(())
}
