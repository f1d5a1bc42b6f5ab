//! TypeScript declarations from channel definitions (feature `typescript`), so that the browser's
//! code is checked against the same definitions the server authorizes and publishes with.
//!
//! The payload types derive [`ts_rs::TS`] (with serde's attributes honoured); [`Declarations`]
//! collects every type a channel uses and writes, for each channel:
//!
//! - the channel's name as a type (`"private-chat"`, `` `private-orders.${OrderChannel["id"]}` ``)
//!   and a union of all of them, `ChannelName`;
//! - `EventsOf<N>`: the map from event names to payload types for a channel name `N`, and
//!   `ClientEventsOf<N>` for client events (whispers);
//! - `MemberOf<N>` for presence channels: `{ id: string; info: MemberInfo }`, as pusher-js
//!   reports members;
//! - `TypedChannel<N>`, `TypedPresenceChannel<N>`: pusher-js's `Channel` with `bind` and
//!   `trigger` checked against those maps (use them to annotate `pusher.subscribe(…)`);
//! - for Laravel Echo, `EchoPrivateName`, `EchoPresenceName` and `EchoEncryptedName` (the names
//!   `private()`, `join()` and `encryptedPrivate()` take, without the kind prefix) and
//!   `EchoChannel<M>`, whose `listen` takes Echo's leading-dot event names (`.send-message`);
//! - `UserEvents` for events sent to one user (`pusher.user.bind`), when given;
//! - `TypedPusher` and `TypedEcho`: pusher-js's `Pusher` and Laravel Echo with `subscribe`,
//!   `user.bind`, `private`, `join`, `encryptedPrivate` checked against all of the above (cast
//!   the instance to it once).
//!
//! ```
//! use pusher_protocol::channel::{typescript::Declarations, Channel, NoEvents, Private};
//! use serde::{Deserialize, Serialize};
//! use ts_rs::TS;
//!
//! #[derive(Serialize, Deserialize, TS)]
//! pub struct OrderChannel { pub id: u32 }
//!
//! #[derive(Serialize, Deserialize, TS)]
//! #[serde(tag = "event", content = "data", rename_all = "kebab-case")]
//! pub enum OrderEvent { OrderShipped { tracking: String } }
//!
//! impl Channel for OrderChannel {
//!     type Kind = Private;
//!     const PATTERN: &'static str = "orders.{id}";
//!     type Event = OrderEvent;
//!     type ClientEvent = NoEvents;
//! }
//!
//! let ts = Declarations::new().channel::<OrderChannel>().to_typescript();
//! assert!(ts.contains(r#"export type OrderEvent = { "event": "order-shipped", "data": { tracking: string, } };"#));
//! assert!(ts.contains(r#"N extends `private-orders.${OrderChannel["id"]}` ? EventMap<OrderEvent>"#));
//! ```

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use ts_rs::{Config, Dependency, TypeVisitor, TS};

use super::{Channel, Encrypted, Kind, Pattern, Presence, Private, Public};
use crate::names::ChannelKind;

/// The member type of a kind, for the declarations.
pub trait KindMember: Kind {
    /// The presence member's info type, written as TypeScript (`never` for other kinds), after
    /// declaring it.
    fn member(declarations: &mut Declarations) -> Option<String>;
}

impl KindMember for Private {
    fn member(_: &mut Declarations) -> Option<String> {
        None
    }
}

impl KindMember for Encrypted {
    fn member(_: &mut Declarations) -> Option<String> {
        None
    }
}

impl KindMember for Public {
    fn member(_: &mut Declarations) -> Option<String> {
        None
    }
}

impl<M: TS + 'static> KindMember for Presence<M> {
    fn member(declarations: &mut Declarations) -> Option<String> {
        Some(declarations.declare::<M>())
    }
}

/// One channel, as the declarations write it.
struct Entry {
    /// The Rust type's name, for comments.
    rust: &'static str,
    kind: ChannelKind,
    /// The channel's name as a TypeScript type (a string literal or a template).
    name: String,
    /// The name Laravel Echo takes (without the kind prefix), as a type.
    echo: String,
    events: String,
    client_events: String,
    member: Option<String>,
}

/// The TypeScript declarations of a set of channel definitions. See the [module docs](self).
pub struct Declarations {
    config: Config,
    /// Declared types, in the order first met.
    declared: Vec<String>,
    seen: HashSet<TypeId>,
    /// Each declared TypeScript name, and the Rust type that has it.
    names: HashMap<String, (TypeId, &'static str)>,
    channels: Vec<Entry>,
    user_events: Option<String>,
}

impl Default for Declarations {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Declarations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Declarations")
            .field("channels", &self.channels.len())
            .field("types", &self.declared.len())
            .finish()
    }
}

/// Declares each type a type depends on, then the type itself.
struct Visit<'a>(&'a mut Declarations);

impl TypeVisitor for Visit<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.0.declare_named::<T>();
    }
}

impl Declarations {
    /// No channel yet. Large integers (`u64`, `i64`) are written `number`, as JSON carries them.
    pub fn new() -> Self {
        Declarations {
            config: Config::new().with_large_int("number"),
            declared: Vec::new(),
            seen: HashSet::new(),
            names: HashMap::new(),
            channels: Vec::new(),
            user_events: None,
        }
    }

    /// Declares `T` (and what it depends on) if it is a named type; returns how to write it.
    fn declare<T: TS + 'static + ?Sized>(&mut self) -> String {
        self.declare_named::<T>();
        T::name(&self.config)
    }

    fn declare_named<T: TS + 'static + ?Sized>(&mut self) {
        if Dependency::from_ty::<T>(&self.config).is_none() {
            // A built-in (`string`, `number`, arrays of declared types…): its parts may be named.
            T::visit_dependencies(&mut Visit(self));
            T::visit_generics(&mut Visit(self));
            return;
        }
        if !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        let rust = std::any::type_name::<T>();
        let name = T::ident(&self.config);
        if let Some((_, other)) = self.names.insert(name.clone(), (TypeId::of::<T>(), rust)) {
            // Two declarations of one name would not compile in TypeScript.
            #[allow(clippy::panic)]
            {
                panic!("`{other}` and `{rust}` are both named `{name}` in TypeScript: rename one (`#[ts(rename = \"…\")]`)");
            }
        }
        T::visit_dependencies(&mut Visit(self));
        T::visit_generics(&mut Visit(self));
        let decl = T::decl(&self.config);
        self.declared.push(format!("export {decl}"));
    }

    /// Adds the channel `C`: its parameters, events, client events and member type must derive
    /// [`TS`].
    ///
    /// # Panics
    ///
    /// When `C::PATTERN` does not compile (a definition that no channel could use), or when
    /// two of the types met have the same TypeScript name.
    #[must_use]
    #[track_caller]
    #[allow(clippy::panic)]
    pub fn channel<C>(mut self) -> Self
    where
        C: Channel + TS,
        C::Kind: KindMember,
        C::Event: TS,
        C::ClientEvent: TS,
    {
        let pattern = match Pattern::new(C::PATTERN) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{}: {e}", std::any::type_name::<C>()),
        };
        let params = self.declare::<C>();
        let events = self.declare::<C::Event>();
        let client_events = self.declare::<C::ClientEvent>();
        let member = <C::Kind as KindMember>::member(&mut self);
        let kind = <C::Kind as Kind>::KIND;
        let shape = match C::inline(&self.config).trim_start().chars().next() {
            Some('{') => Shape::Struct,
            Some('[') => Shape::Tuple,
            _ => Shape::Single,
        };
        let rest = template(&pattern, &params, shape);
        self.channels.push(Entry {
            rust: std::any::type_name::<C>(),
            kind,
            name: quote_template(&format!("{}{rest}", kind.prefix())),
            echo: quote_template(&rest),
            events,
            client_events,
            member,
        });
        self
    }

    /// The events sent to one signed-in user (`pusher.user.bind`), in the same
    /// `{"event", "data"}` shape as channel events.
    #[must_use]
    pub fn user_events<E: TS + 'static>(mut self) -> Self {
        let events = self.declare::<E>();
        self.user_events = Some(events);
        self
    }

    /// The declarations, as one TypeScript module.
    pub fn to_typescript(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "// Channel definitions, as the Rust definitions give them: generated by\n\
             // pusher_protocol::channel::typescript. Do not edit; regenerate instead.\n\n\
             import type Pusher from \"pusher-js\";\n\n",
        );
        for decl in &self.declared {
            out.push_str(decl);
            out.push_str("\n\n");
        }
        out.push_str(HELPERS);
        let names: Vec<&str> = self.channels.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(
            out,
            "/** Every channel name the definitions allow. */\nexport type ChannelName = {};\n",
            union(&names)
        );
        let lookup =
            |out: &mut String, doc: &str, name: &str, pick: &dyn Fn(&Entry) -> Option<String>| {
                let _ = writeln!(out, "/** {doc} */\nexport type {name}<N extends string> =");
                for entry in &self.channels {
                    let value = pick(entry).unwrap_or_else(|| String::from("never"));
                    let _ = writeln!(
                        out,
                        "  N extends {} ? {value} : // {}",
                        entry.name, entry.rust
                    );
                }
                out.push_str("  never;\n\n");
            };
        lookup(
            &mut out,
            "The events the server publishes on channel `N`: event name to payload.",
            "EventsOf",
            &|e| Some(format!("EventMap<{}>", e.events)),
        );
        lookup(
            &mut out,
            "The client events (whispers) channel `N` carries: event name to payload.",
            "ClientEventsOf",
            &|e| Some(format!("EventMap<{}>", e.client_events)),
        );
        lookup(
            &mut out,
            "A member of presence channel `N`, as pusher-js reports members.",
            "MemberOf",
            &|e| {
                e.member
                    .as_ref()
                    .map(|m| format!("{{ id: string; info: {m} }}"))
            },
        );
        // Laravel Echo: names without the prefix, events with a leading dot.
        let echo_lookup = |out: &mut String, name: &str, kind: &[ChannelKind]| {
            let _ = writeln!(out, "export type {name}<N extends string> =");
            for entry in self.channels.iter().filter(|e| kind.contains(&e.kind)) {
                let _ = writeln!(
                    out,
                    "  N extends {} ? DotEvents<EventMap<{}>> : // {}",
                    entry.echo, entry.events, entry.rust
                );
            }
            out.push_str("  never;\n\n");
        };
        for (name, kind, method) in [
            ("EchoPrivateName", ChannelKind::Private, "private"),
            ("EchoPresenceName", ChannelKind::Presence, "join"),
            (
                "EchoEncryptedName",
                ChannelKind::PrivateEncrypted,
                "encryptedPrivate",
            ),
        ] {
            let names: Vec<&str> = self
                .channels
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.echo.as_str())
                .collect();
            let _ = writeln!(
                out,
                "/** Laravel Echo: the names `Echo.{method}()` takes. */\nexport type {name} = {};\n",
                union(&names)
            );
        }
        out.push_str(
            "/** Laravel Echo: the events of `Echo.private(N)`, with Echo's leading dot. */\n",
        );
        echo_lookup(&mut out, "EchoPrivateEventsOf", &[ChannelKind::Private]);
        out.push_str("/** Laravel Echo: the events of `Echo.join(N)`. */\n");
        echo_lookup(&mut out, "EchoPresenceEventsOf", &[ChannelKind::Presence]);
        out.push_str("/** Laravel Echo: the events of `Echo.encryptedPrivate(N)`. */\n");
        echo_lookup(
            &mut out,
            "EchoEncryptedEventsOf",
            &[ChannelKind::PrivateEncrypted],
        );
        let user = self
            .user_events
            .as_deref()
            .map_or_else(|| String::from("{}"), |e| format!("EventMap<{e}>"));
        let _ = writeln!(
            out,
            "/** The events sent to one signed-in user (`pusher.user.bind`). */\nexport type UserEvents = {user};"
        );
        out
    }
}

/// How a channel's parameters are written in TypeScript.
#[derive(Clone, Copy)]
enum Shape {
    /// An object: each parameter is a field, by name.
    Struct,
    /// A tuple: each parameter by position.
    Tuple,
    /// One value for the one parameter (or none).
    Single,
}

/// The pattern as a TypeScript template literal's inside: literals, and each parameter as the
/// type of the params' field (a struct), element (a tuple) or of the params themselves (one
/// value).
fn template(pattern: &Pattern, params: &str, shape: Shape) -> String {
    let mut out = String::new();
    let mut rest = pattern.as_str();
    let mut position = 0;
    while let Some(start) = rest.find('{') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        let end = after.find('}').unwrap_or(after.len());
        let name = after.get(..end).unwrap_or_default();
        let _ = match shape {
            Shape::Struct => write!(out, "${{{params}[\"{name}\"]}}"),
            Shape::Tuple => write!(out, "${{{params}[{position}]}}"),
            Shape::Single => write!(out, "${{{params}}}"),
        };
        position += 1;
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// A string literal type, or a template literal type when it has parameters.
fn quote_template(text: &str) -> String {
    if text.contains("${") {
        format!("`{text}`")
    } else {
        format!("\"{text}\"")
    }
}

fn union(items: &[&str]) -> String {
    if items.is_empty() {
        String::from("never")
    } else {
        items.join(" | ")
    }
}

/// The generic part: maps from `{event, data}` unions, and the typed pusher-js and Echo shapes.
const HELPERS: &str = r#"/** Event name to payload, from a union of `{ event, data }` objects (`null` without data). */
export type EventMap<E> = {
  [K in E as K extends { event: infer Name extends string } ? Name : never]: K extends { data: infer D } ? D : null;
};

/** The same map with Laravel Echo's leading dot on each custom event name. */
export type DotEvents<M> = { [K in keyof M & string as `.${K}`]: M[K] };

/** What pusher-js passes with a client event: the sender's user id on presence channels. */
export type ClientEventMetadata = { user_id?: string };

/** pusher-js's `Channel` with its events checked against channel `N`'s definition. */
export interface TypedChannel<N extends string> {
  readonly name: string;
  bind<E extends keyof EventsOf<N> & string>(event: E, callback: (data: EventsOf<N>[E]) => void, context?: unknown): this;
  bind<E extends keyof ClientEventsOf<N> & string>(event: E, callback: (data: ClientEventsOf<N>[E], metadata: ClientEventMetadata) => void, context?: unknown): this;
  bind(event: "pusher:subscription_succeeded", callback: (data: unknown) => void, context?: unknown): this;
  bind(event: "pusher:subscription_error", callback: (error: { type: string; error: string; status?: number }) => void, context?: unknown): this;
  bind(event: "pusher:subscription_count", callback: (data: { subscription_count: number }) => void, context?: unknown): this;
  bind(event: "pusher:cache_miss", callback: (data: unknown) => void, context?: unknown): this;
  unbind(event?: string, callback?: (...args: never[]) => void, context?: unknown): this;
  trigger<E extends keyof ClientEventsOf<N> & string>(event: E, data: ClientEventsOf<N>[E]): boolean;
}

/** pusher-js's `PresenceChannel` for channel `N`: its members are `MemberOf<N>`. */
export interface TypedPresenceChannel<N extends string> extends TypedChannel<N> {
  readonly members: {
    readonly count: number;
    readonly me: MemberOf<N> | null;
    each(callback: (member: MemberOf<N>) => void): void;
    get(id: string): MemberOf<N> | null;
  };
  bind<E extends keyof EventsOf<N> & string>(event: E, callback: (data: EventsOf<N>[E]) => void, context?: unknown): this;
  bind<E extends keyof ClientEventsOf<N> & string>(event: E, callback: (data: ClientEventsOf<N>[E], metadata: ClientEventMetadata) => void, context?: unknown): this;
  bind(event: "pusher:member_added" | "pusher:member_removed", callback: (member: MemberOf<N>) => void, context?: unknown): this;
  bind(event: "pusher:subscription_succeeded", callback: (data: unknown) => void, context?: unknown): this;
  bind(event: "pusher:subscription_error", callback: (error: { type: string; error: string; status?: number }) => void, context?: unknown): this;
  bind(event: "pusher:subscription_count", callback: (data: { subscription_count: number }) => void, context?: unknown): this;
  bind(event: "pusher:cache_miss", callback: (data: unknown) => void, context?: unknown): this;
}

/** pusher-js's `Pusher` (cast to this type): the rest of its API as pusher-js types it, with
 * `subscribe`, `unsubscribe` and `user` checked against the definitions. */
export interface TypedPusher extends Omit<Pusher, "subscribe" | "unsubscribe" | "user"> {
  subscribe<N extends ChannelName>(name: N): N extends `presence-${string}` ? TypedPresenceChannel<N> : TypedChannel<N>;
  unsubscribe(name: ChannelName): void;
  readonly user: TypedUser;
}

/** pusher-js's `pusher.user`: the events sent to the signed-in user. */
export interface TypedUser {
  bind<E extends keyof UserEvents & string>(event: E, callback: (data: UserEvents[E]) => void): this;
  bind(event: "pusher:signin_success", callback: (data: unknown) => void): this;
}

/** Laravel Echo (cast to this type): `private`, `join` and `encryptedPrivate` take the defined
 * names without the prefix. */
export interface TypedEcho {
  private<N extends EchoPrivateName>(name: N): EchoChannel<EchoPrivateEventsOf<N>>;
  join<N extends EchoPresenceName>(name: N): EchoChannel<EchoPresenceEventsOf<N>>;
  encryptedPrivate<N extends EchoEncryptedName>(name: N): EchoChannel<EchoEncryptedEventsOf<N>>;
  leave(name: string): void;
}

/** Laravel Echo's channel, `listen` checked against the events `M` (leading dots included). */
export interface EchoChannel<M> {
  listen<E extends keyof M & string>(event: E, callback: (data: M[E]) => void): this;
  stopListening<E extends keyof M & string>(event: E): this;
}

"#;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::channel::NoEvents;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, TS)]
    struct Room {
        id: u32,
    }

    #[derive(Serialize, Deserialize, TS)]
    struct Info {
        name: String,
    }

    #[derive(Serialize, Deserialize, TS)]
    #[serde(tag = "event", content = "data")]
    enum RoomEvent {
        #[serde(rename = "said")]
        Said { text: String, by: Info },
        #[serde(rename = "closed")]
        Closed,
    }

    impl Channel for Room {
        type Kind = Presence<Info>;
        const PATTERN: &'static str = "room.{id}";
        type Event = RoomEvent;
        type ClientEvent = NoEvents;
    }

    #[derive(Serialize, Deserialize, TS)]
    struct Lobby;

    impl Channel for Lobby {
        type Kind = Encrypted;
        const PATTERN: &'static str = "lobby";
        type Event = RoomEvent;
        type ClientEvent = NoEvents;
    }

    #[test]
    fn every_type_is_declared_once_and_channels_are_looked_up_by_name() {
        let ts = Declarations::new()
            .channel::<Room>()
            .channel::<Lobby>()
            .to_typescript();
        assert_eq!(ts.matches("export type Info =").count(), 1, "{ts}");
        assert!(ts.contains("export type NoEvents = never;"), "{ts}");
        assert!(
            ts.contains(r#"export type ChannelName = `presence-room.${Room["id"]}` | "private-encrypted-lobby";"#),
            "{ts}"
        );
        assert!(
            ts.contains(
                r#"N extends `presence-room.${Room["id"]}` ? { id: string; info: Info } :"#
            ),
            "{ts}"
        );
        assert!(
            ts.contains(r#"N extends "lobby" ? DotEvents<EventMap<RoomEvent>> :"#),
            "{ts}"
        );
    }

    /// `seat-{row}.{number}`, its parameters a tuple.
    #[derive(Serialize, Deserialize, TS)]
    struct Seat(u32, String);

    impl Channel for Seat {
        type Kind = Private;
        const PATTERN: &'static str = "seat-{row}.{number}";
        type Event = RoomEvent;
        type ClientEvent = NoEvents;
    }

    #[test]
    fn tuple_parameters_are_written_by_position() {
        let ts = Declarations::new().channel::<Seat>().to_typescript();
        assert!(
            ts.contains(r#"export type ChannelName = `private-seat-${Seat[0]}.${Seat[1]}`;"#),
            "{ts}"
        );
    }

    mod other {
        use super::*;

        /// Another `Info`.
        #[derive(Serialize, Deserialize, TS)]
        pub(super) struct Info {
            pub(super) age: u32,
        }

        #[derive(Serialize, Deserialize, TS)]
        pub(super) struct Team;

        impl Channel for Team {
            type Kind = Presence<Info>;
            const PATTERN: &'static str = "team";
            type Event = NoEvents;
            type ClientEvent = NoEvents;
        }
    }

    #[test]
    #[should_panic(expected = "are both named `Info` in TypeScript")]
    fn two_types_of_one_name_are_refused() {
        let _ = Declarations::new()
            .channel::<Room>()
            .channel::<other::Team>();
    }

    #[test]
    fn echo_names_are_the_defined_ones() {
        let ts = Declarations::new()
            .channel::<Room>()
            .channel::<Lobby>()
            .to_typescript();
        assert!(
            ts.contains(r#"export type EchoPresenceName = `room.${Room["id"]}`;"#),
            "{ts}"
        );
        assert!(
            ts.contains(r#"export type EchoEncryptedName = "lobby";"#),
            "{ts}"
        );
        assert!(ts.contains("export type EchoPrivateName = never;"), "{ts}");
    }
}
