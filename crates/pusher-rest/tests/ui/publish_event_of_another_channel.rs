// An event is published only on the channel whose definition names its type: a chat message on
// an order channel does not compile.
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

async fn publish(client: pusher_rest::Client) {
    let _ = client
        .publish(&OrderChannel { id: 42 }, &ChatEvent::Message { text: "hi".into() })
        .await;
}

fn main() {
    let _ = publish;
    let _ = ChatChannel;
}
