//! Serves [`poem_minimal::app`]: `PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p
//! poem-minimal`, on `POEM_ADDR` (default `127.0.0.1:3003`).

use poem::listener::TcpListener;
use poem::web::cookie::CookieKey;
use poem::Server;
use pusher_auth::Credentials;
use pusher_auth_tower::PusherAuthLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pusher = PusherAuthLayer::new(poem_minimal::endpoints(Credentials::from_env()?));
    let app = poem_minimal::app(&pusher, CookieKey::generate());
    let addr = std::env::var("POEM_ADDR").unwrap_or_else(|_| "127.0.0.1:3003".into());
    println!("listening on http://{addr}");
    Server::new(TcpListener::bind(addr)).run(app).await?;
    Ok(())
}
