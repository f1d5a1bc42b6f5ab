// A presence channel's members carry the info its definition names: a route that admits a
// member with other info does not compile.
use pusher_auth::pusher_protocol::channel::{Channel, NoEvents, Presence};
use pusher_auth::{ChannelRoutes, PresenceMember, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone)]
struct User {
    id: u64,
    name: String,
}

#[derive(Serialize, Deserialize)]
struct TeamChannel {
    team: u32,
}

#[derive(Serialize)]
struct MemberInfo {
    name: String,
}

impl Channel for TeamChannel {
    type Kind = Presence<MemberInfo>;
    const PATTERN: &'static str = "team.{team}";
    type Event = NoEvents;
    type ClientEvent = NoEvents;
}

fn main() {
    let _routes = ChannelRoutes::new().route(|user: User, _channel: TeamChannel| async move {
        // The user's name alone, not a MemberInfo.
        PresenceMember::new(UserId::from(user.id)).with_info(user.name)
    });
}
