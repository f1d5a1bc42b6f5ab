// A user type that no axum extractor finds, mounted on a router.
use axum::Router;
use pusher_auth_axum::prelude::*;

#[derive(Clone)]
struct User;

fn main() {
    let routes = ChannelRoutes::new().private("chat", |_user: User, (): ()| async { true });
    let endpoints = Endpoints::new(Credentials::new("key", "secret").unwrap(), routes);
    let _app: Router = Router::new().pusher_auth(endpoints);
}
