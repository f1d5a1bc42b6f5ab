// A private channel admits or refuses; a route that answers with a presence member does not
// compile.
use pusher_auth::pusher_protocol::channel::{Channel, NoEvents, Private};
use pusher_auth::{ChannelRoutes, PresenceMember, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct User {
    id: u64,
}

#[derive(Serialize, Deserialize)]
struct OrderChannel {
    id: u64,
}

impl Channel for OrderChannel {
    type Kind = Private;
    const PATTERN: &'static str = "orders.{id}";
    type Event = NoEvents;
    type ClientEvent = NoEvents;
}

fn main() {
    let _routes = ChannelRoutes::new().route(|user: User, _channel: OrderChannel| async move {
        PresenceMember::new(UserId::from(user.id))
    });
}
