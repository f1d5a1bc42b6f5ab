// A closure with the wrong shape given as an authorizer.
use pusher_auth::Credentials;
use pusher_auth_axum::PusherAuthLayer;

fn main() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let _layer = PusherAuthLayer::new(credentials, |_channel: &str| true);
}
