// The same holds in a batch.
use pusher_protocol::channel::{Channel, NoEvents, Presence, Private};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct OrderChannel {
    id: u64,
}

#[derive(Serialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
enum OrderEvent {
    OrderShipped { tracking: String },
}

impl Channel for OrderChannel {
    type Kind = Private;
    const PATTERN: &'static str = "orders.{id}";
    type Event = OrderEvent;
    type ClientEvent = NoEvents;
}

#[derive(Serialize, Deserialize)]
struct ChatChannel;

#[derive(Serialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
enum ChatEvent {
    Message { text: String },
}

impl Channel for ChatChannel {
    type Kind = Presence<()>;
    const PATTERN: &'static str = "chat";
    type Event = ChatEvent;
    type ClientEvent = NoEvents;
}

fn main() {
    let _ = pusher_rest::BatchEvent::publish(&ChatChannel, &OrderEvent::OrderShipped { tracking: "1Z".into() });
    let _ = OrderChannel { id: 1 };
    let _ = ChatEvent::Message { text: String::new() };
}
