// An extractor that reads the router state, used with `authorize_with` (no state).
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{request::Parts, StatusCode};
use pusher_auth_axum::prelude::*;

#[derive(Clone)]
struct Db;

#[derive(Clone)]
struct User;

impl<S> FromRequestParts<S> for User
where
    Db: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = StatusCode;
    async fn from_request_parts(_: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let _db = Db::from_ref(state);
        Ok(User)
    }
}

fn main() {
    let routes = ChannelRoutes::new().private("chat", |_user: User, (): ()| async { true });
    let credentials = Credentials::new("key", "secret").unwrap();
    // Should be `authorize_with_state(Db, routes)`:
    let _layer = PusherAuthLayer::new(credentials, authorize_with(routes));
}
