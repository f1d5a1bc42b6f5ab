//! The chat's channels, defined once: authorized by [`routes`](crate::routes), published by
//! [`Chat`](crate::Chat), and typed for the page (`static/channels.d.ts`, written from these
//! definitions by `cargo run -p chat-common --bin channels-ts`; the test command regenerates it
//! and fails when it differs, then type-checks `static/chat.js` against it).

use pusher_protocol::channel::{Channel, Encrypted, NoEvents, Presence, Private};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A chat message as it is broadcast: who said what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Message {
    /// The sender's name, set by the server.
    pub name: String,
    /// The text.
    pub message: String,
}

/// What the server publishes on the chat channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "event", content = "data")]
pub enum ChatEvent {
    /// `send-message`: a message for everyone on the channel (but its sender).
    #[serde(rename = "send-message")]
    SendMessage(Message),
}

/// What the server sends to one signed-in user (`#server-to-user-{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "event", content = "data")]
pub enum UserEvent {
    /// `whisper`: a message to this user alone.
    #[serde(rename = "whisper")]
    Whisper(Message),
}

/// Who a member of `presence-chat` is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberInfo {
    /// The user's name.
    pub name: String,
}

/// `private-chat`: every logged-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatChannel;

impl Channel for ChatChannel {
    type Kind = Private;
    const PATTERN: &'static str = "chat";
    type Event = ChatEvent;
    type ClientEvent = NoEvents;
}

/// `private-encrypted-chat`: the same, end-to-end encrypted (offered when the app has an
/// encryption master key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EncryptedChatChannel;

impl Channel for EncryptedChatChannel {
    type Kind = Encrypted;
    const PATTERN: &'static str = "chat";
    type Event = ChatEvent;
    type ClientEvent = NoEvents;
}

/// `presence-chat`: who is online, with their name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresenceChatChannel;

impl Channel for PresenceChatChannel {
    type Kind = Presence<MemberInfo>;
    const PATTERN: &'static str = "chat";
    type Event = NoEvents;
    type ClientEvent = NoEvents;
}

/// `private-room.{id}`: numbered rooms (1 and up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RoomChannel {
    /// The room's number.
    pub id: u32,
}

impl Channel for RoomChannel {
    type Kind = Private;
    const PATTERN: &'static str = "room.{id}";
    type Event = ChatEvent;
    type ClientEvent = NoEvents;
}

/// The TypeScript declarations of the chat's channels: what `static/channels.d.ts` holds.
pub fn typescript() -> String {
    pusher_protocol::channel::typescript::Declarations::new()
        .channel::<ChatChannel>()
        .channel::<EncryptedChatChannel>()
        .channel::<PresenceChatChannel>()
        .channel::<RoomChannel>()
        .user_events::<UserEvent>()
        .to_typescript()
}
