// A closure with the wrong shape given as an authorizer.
use pusher_auth::{Credentials, Endpoints};

fn main() {
    let credentials = Credentials::new("key", "secret").unwrap();
    let _endpoints = Endpoints::new(credentials, |_channel: &str| true);
}
