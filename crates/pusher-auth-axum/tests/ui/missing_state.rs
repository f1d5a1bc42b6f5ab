// An extractor that reads a part of the router state, mounted on a router whose state lacks it.
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{request::Parts, StatusCode};
use axum::Router;
use pusher_auth_axum::prelude::*;

#[derive(Clone)]
struct Db;

#[derive(Clone)]
struct User;

/// The app's state, which does not hand out a `Db`.
#[derive(Clone)]
struct AppState;

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
    let endpoints = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes);
    // `AppState` has no `Db` (no `impl FromRef<AppState> for Db`):
    let _app: Router = Router::<AppState>::new().pusher_auth(endpoints).with_state(AppState);
}
