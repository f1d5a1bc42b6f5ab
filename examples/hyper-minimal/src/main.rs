//! The layer under a bare hyper 1 server, for stacks that are tower-based but not axum.
//!
//! `POST /pusher/auth` is answered by the layer (every `private-` channel allowed, for the
//! demonstration only); every other request reaches the inner `service_fn`.
//!
//! ```text
//! PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p hyper-minimal
//! curl -d 'socket_id=1.2&channel_name=private-x' http://127.0.0.1:3002/pusher/auth
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use pusher_auth::{ChannelDecision, ChannelKind, ChannelRequest, Credentials, Endpoints};
use pusher_auth_tower::PusherAuthLayer;
use tower::ServiceBuilder;

async fn app(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(format!(
        "the app answers {}\n",
        request.uri().path()
    )))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credentials = Credentials::from_env()?;
    // Every private channel, for the demonstration only: a real app decides per user (its login
    // middleware inserts `Option<User>` into every request, and the authorizer decides for
    // `User`). This one needs no user: it decides for `()`.
    let authorizer = |(): (), request: ChannelRequest| async move {
        Ok::<_, Infallible>(ChannelDecision::allow_if(
            request.channel().kind() == ChannelKind::Private,
            "only private channels in this demonstration",
        ))
    };
    let endpoints = Endpoints::new(credentials, authorizer);
    let service = ServiceBuilder::new()
        .layer(PusherAuthLayer::new(endpoints))
        .service_fn(app);
    let addr = std::env::var("HYPER_ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}
