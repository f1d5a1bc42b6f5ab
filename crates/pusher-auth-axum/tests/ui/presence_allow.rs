// A presence route must say who the member is; a bare "allowed" does not compile.
use pusher_auth::ChannelRoutes;

#[derive(Clone)]
struct User;

fn main() {
    let _routes = ChannelRoutes::new().presence("chat", |_user: User, (): ()| async { true });
}
