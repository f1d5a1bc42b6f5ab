//! Channel routes: Laravel-style patterns whose handlers receive your user first, then the
//! typed parameters of the channel name.
//!
//! ```
//! use pusher_auth::routes::{ChannelRoutes, Membership};
//! use pusher_auth::{PresenceMember, UserId};
//!
//! /// Your logged-in user, as your session layer (or axum extractor) provides it.
//! #[derive(Clone)]
//! struct User { id: u64, name: String, rooms: Vec<u32> }
//!
//! #[derive(serde::Deserialize)]
//! struct Item { order: u64, line: u16 }
//!
//! let routes = ChannelRoutes::new()
//!     // private-orders.42 and private-encrypted-orders.42: the user may follow their own orders.
//!     .channel("orders.{id}", |user: User, id: u64| async move { user.id == id % 1000 })
//!     // Only private-chat.7: a member of room 7.
//!     .private("chat.{room}", |user: User, room: u32| async move { user.rooms.contains(&room) })
//!     // Named parameters into a struct.
//!     .private("orders.{order}.lines.{line}", |user: User, item: Item| async move { item.line < 100 && user.id > 0 })
//!     // presence-chat.7: who the user is there. Presence routes say who, not just whether.
//!     .presence("chat.{room}", |user: User, room: u32| async move {
//!         match user.rooms.contains(&room) {
//!             true => Membership::member(PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name }))),
//!             false => Membership::deny("not in the room"),
//!         }
//!     });
//! # fn check<A: pusher_auth::Authorizer<User>>(_: &A) {}
//! # check(&routes);
//! ```
//!
//! `ChannelRoutes<User>` is an [`Authorizer<User>`](crate::Authorizer). Where the user comes from
//! is the adapter's business, and it is found **once per HTTP request** (a batch of 100 channels
//! costs one session lookup): an axum extractor, an actix-web extractor, a Rocket request guard,
//! or, in a plain tower stack, the request extensions. Sign-in (`pusher.signin()`) is not a
//! route: give the endpoints a [`Signin`](crate::signin::Signin) handler for the same `User`
//! ([`Endpoints::with_signin`](crate::Endpoints::with_signin)).
//!
//! # What handlers return
//!
//! | route | handler returns |
//! |---|---|
//! | [`channel`](ChannelRoutes::channel), [`private`](ChannelRoutes::private), [`encrypted`](ChannelRoutes::encrypted) | `bool`, [`Access`], or `Result<_, E>` of either |
//! | [`presence`](ChannelRoutes::presence) | [`Membership`], `PresenceMember<T>`, `Option<PresenceMember<T>>`, or `Result<_, E>` of those |
//!
//! A presence channel's answer must name the member, so presence routes cannot answer a bare
//! "allowed": [`channel`](ChannelRoutes::channel) matches `private-` and `private-encrypted-`
//! channels only (unlike Laravel's `Broadcast::channel`, which also matches presence and then
//! sends `true` as the member's info), and [`presence`](ChannelRoutes::presence) routes return a
//! [`Membership`]. An `Err` is a 500 `authorizer_error` (logged at `ERROR`, never sent).
//!
//! # Encrypted channels
//!
//! [`channel`](ChannelRoutes::channel) and [`encrypted`](ChannelRoutes::encrypted) routes grant
//! `private-encrypted-` channels, whose answer carries a secret derived from the app's
//! encryption master key. Endpoints built from such routes with credentials that have no master
//! key refuse to start ([`Endpoints::new`](crate::Endpoints::new) panics, naming the route):
//! use [`private`](ChannelRoutes::private) for routes meant for `private-` channels only.
//!
//! # Matching rules
//!
//! - The kind prefix (`private-encrypted-`, `private-`, `presence-`) is removed first, and the
//!   rest is matched against the pattern. Public channels never match (they need no
//!   authorization).
//! - A pattern matches the **whole** remaining name: `chat` does not match `chat2` or
//!   `chat.1`, and `orders.{id}` does not match `ordersShipment.1` (literals, dots included, are
//!   compared exactly, never as wildcards).
//! - A parameter `{name}` matches one or more characters **other than `.`**, so a dot always
//!   separates segments and a parameter can never swallow one. When several parameters share a
//!   segment (`game-{id}-{team}`), earlier parameters take as much as they can.
//! - Matching takes time linear in the channel name (no backtracking), whatever the pattern.
//! - Routes are tried in registration order. A handler that returns [`Access::Pass`] (or
//!   [`Membership::Pass`]) hands over to the next matching route. When no route decides, the
//!   request is denied.
//!
//! # Parameters
//!
//! The handler's second argument receives the parameters: `()` for none, one value (`u64`,
//! `String`, an enum, …) for one, a tuple in pattern order, or a struct with named fields.
//! Values parse like `FromStr`, and numbers must be written canonically (`room.007` is not room
//! 7, nor is `room.7e0`). A value that does not parse is the client's mistake: a 403, logged with the
//! reason. A handler whose parameters cannot fit the pattern (a tuple of 3 for 2 parameters, a
//! number for a pattern without parameters, a struct field the pattern lacks) is the app's
//! mistake: registration panics with the route and the reason, so it shows at start-up, and
//! the panic points at the line that registers the route.

mod decision;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use pusher_protocol::channel::{Channel, Encrypted, Kind, Presence, Private};
use pusher_protocol::ChannelKind;

pub use decision::{Access, IntoDecision, Membership, TypedMembership};
pub use pusher_protocol::channel::{ParamError, Pattern, PatternError};

use crate::authorizer::{
    Authorizer, BoxError, BoxFuture, ChannelDecision, ChannelRequest, Misconfigured,
};

type ChannelHandler<U> = Arc<
    dyn Fn(U, &str) -> Option<Result<BoxFuture<'static, Result<Decided, BoxError>>, ParamError>>
        + Send
        + Sync,
>;

use route_kind::Decided;

/// The kinds a typed channel route can have, and what its handler decides: [`Access`] for
/// `Private` and `Encrypted`, [`TypedMembership<M>`] for `Presence<M>`. Public channels need no
/// authorization, so they have no route.
#[diagnostic::on_unimplemented(
    message = "`{Self}` channels need no route",
    label = "public channels need no authorization",
    note = "routes are for `Private`, `Encrypted` and `Presence<M>` channels"
)]
pub trait RouteKind: Kind + route_kind::Decides<Decision = <Self as RouteKind>::Decision> {
    /// What the route's handler decides.
    type Decision: 'static;
}

mod route_kind {
    use super::{Access, Membership};

    /// A route handler's decision, before it becomes a [`ChannelDecision`](crate::ChannelDecision).
    pub enum Decided {
        Access(Access),
        Membership(Membership),
    }

    /// How a kind's decision becomes the routes' own (not nameable outside the crate).
    pub trait Decides {
        type Decision;
        fn decided(decision: Self::Decision) -> Decided;
    }
}

impl route_kind::Decides for Private {
    type Decision = Access;
    fn decided(decision: Access) -> Decided {
        Decided::Access(decision)
    }
}

impl route_kind::Decides for Encrypted {
    type Decision = Access;
    fn decided(decision: Access) -> Decided {
        Decided::Access(decision)
    }
}

impl<M: Serialize + Send + 'static> route_kind::Decides for Presence<M> {
    type Decision = TypedMembership<M>;
    fn decided(decision: TypedMembership<M>) -> Decided {
        Decided::Membership(decision.membership)
    }
}

impl RouteKind for Private {
    type Decision = Access;
}

impl RouteKind for Encrypted {
    type Decision = Access;
}

impl<M: Serialize + Send + 'static> RouteKind for Presence<M> {
    type Decision = TypedMembership<M>;
}

/// Which kinds a route matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kinds {
    PrivateAndEncrypted,
    One(ChannelKind),
}

impl Kinds {
    fn contains(self, kind: ChannelKind) -> bool {
        match self {
            Kinds::PrivateAndEncrypted => {
                matches!(kind, ChannelKind::Private | ChannelKind::PrivateEncrypted)
            }
            Kinds::One(k) => k == kind,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kinds::PrivateAndEncrypted => "private(-encrypted)-",
            Kinds::One(kind) => kind.prefix(),
        }
    }
}

struct Route<U> {
    kinds: Kinds,
    pattern: Pattern,
    handler: ChannelHandler<U>,
}

impl<U> Clone for Route<U> {
    fn clone(&self) -> Self {
        Route {
            kinds: self.kinds,
            pattern: self.pattern.clone(),
            handler: Arc::clone(&self.handler),
        }
    }
}

/// Channel routes deciding for the user type `U`: an [`Authorizer<U>`]. See the
/// [module docs](self).
pub struct ChannelRoutes<U> {
    routes: Arc<Vec<Route<U>>>,
}

impl<U> Clone for ChannelRoutes<U> {
    fn clone(&self) -> Self {
        ChannelRoutes {
            routes: Arc::clone(&self.routes),
        }
    }
}

impl<U> fmt::Debug for ChannelRoutes<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|r| format!("{}{}", r.kinds.label(), r.pattern.as_str()))
            .collect();
        f.debug_struct("ChannelRoutes")
            .field("user_type", &std::any::type_name::<U>())
            .field("routes", &routes)
            .finish()
    }
}

impl<U> Default for ChannelRoutes<U> {
    fn default() -> Self {
        ChannelRoutes {
            routes: Arc::new(Vec::new()),
        }
    }
}

impl<U: Send + 'static> ChannelRoutes<U> {
    /// No routes: every channel is denied.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route for `private-` and `private-encrypted-` channels (presence channels have
    /// their own, [`ChannelRoutes::presence`]).
    ///
    /// The handler receives the user and the parameters as `P` (see the
    /// [module docs](self#parameters)) and returns `bool`, [`Access`] or a `Result` of either.
    ///
    /// # Panics
    ///
    /// When `pattern` is invalid (see [`Pattern::new`]) or `P` cannot fit its parameters: a
    /// programming error, reported at start-up.
    #[must_use]
    #[track_caller]
    pub fn channel<H, P, Fut>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(U, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<Access>,
    {
        self.route_with(
            Kinds::PrivateAndEncrypted,
            pattern,
            handler,
            Decided::Access,
        )
    }

    /// Adds a route for `private-` channels only. See [`ChannelRoutes::channel`].
    #[must_use]
    #[track_caller]
    pub fn private<H, P, Fut>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(U, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<Access>,
    {
        self.route_with(
            Kinds::One(ChannelKind::Private),
            pattern,
            handler,
            Decided::Access,
        )
    }

    /// Adds a route for `private-encrypted-` channels only. See [`ChannelRoutes::channel`].
    #[must_use]
    #[track_caller]
    pub fn encrypted<H, P, Fut>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(U, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<Access>,
    {
        self.route_with(
            Kinds::One(ChannelKind::PrivateEncrypted),
            pattern,
            handler,
            Decided::Access,
        )
    }

    /// Adds a route for `presence-` channels. The handler says who the user is in the channel:
    /// a [`Membership`], a `PresenceMember<T>`, an `Option<PresenceMember<T>>` (`None` denies),
    /// or a `Result` of those.
    ///
    /// # Panics
    ///
    /// As [`ChannelRoutes::channel`].
    #[must_use]
    #[track_caller]
    pub fn presence<H, P, Fut>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(U, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<Membership>,
    {
        self.route_with(
            Kinds::One(ChannelKind::Presence),
            pattern,
            handler,
            Decided::Membership,
        )
    }

    /// Adds the route of a typed channel definition (see `pusher_protocol::channel`): its
    /// kind and pattern come from `C`, the handler receives the user and the channel's
    /// parameters as `C`, and decides as the kind asks: `bool` or [`Access`] for private and
    /// encrypted channels, `PresenceMember<M>` or `Option<PresenceMember<M>>` for
    /// `Presence<M>` (a member with other info does not compile). Public channels need no
    /// route.
    ///
    /// ```
    /// use pusher_auth::pusher_protocol::channel::{Channel, NoEvents, Presence};
    /// use pusher_auth::{ChannelRoutes, PresenceMember, UserId};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Clone)]
    /// struct User { id: u64, name: String, teams: Vec<u32> }
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct TeamChannel { team: u32 }
    ///
    /// #[derive(Serialize)]
    /// struct MemberInfo { name: String }
    ///
    /// impl Channel for TeamChannel {
    ///     type Kind = Presence<MemberInfo>;
    ///     const PATTERN: &'static str = "team.{team}";
    ///     type Event = NoEvents;
    ///     type ClientEvent = NoEvents;
    /// }
    ///
    /// let routes = ChannelRoutes::new().route(|user: User, channel: TeamChannel| async move {
    ///     user.teams.contains(&channel.team).then(|| {
    ///         PresenceMember::new(UserId::from(user.id)).with_info(MemberInfo { name: user.name })
    ///     })
    /// });
    /// # let _ = routes;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`ChannelRoutes::channel`], when `C::PATTERN` is invalid or `C` cannot hold its
    /// parameters.
    #[must_use]
    #[track_caller]
    pub fn route<C, H, Fut>(self, handler: H) -> Self
    where
        C: Channel,
        C::Kind: RouteKind,
        H: Fn(U, C) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<<C::Kind as RouteKind>::Decision>,
    {
        self.route_with(
            Kinds::One(<C::Kind as Kind>::KIND),
            C::PATTERN,
            handler,
            <C::Kind as route_kind::Decides>::decided,
        )
    }

    #[track_caller]
    #[allow(clippy::panic)]
    fn route_with<H, P, Fut, D>(
        mut self,
        kinds: Kinds,
        pattern: &str,
        handler: H,
        wrap: fn(D) -> Decided,
    ) -> Self
    where
        H: Fn(U, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoDecision<D>,
        D: 'static,
    {
        // A `match`, not a closure: the panic must point at the caller (`#[track_caller]`).
        let pattern = match Pattern::new(pattern) {
            Ok(pattern) => pattern,
            Err(e) => panic!("{e}"),
        };
        if let Err(reason) = pattern.check::<P>() {
            panic!(
                "channel route `{}`: the handler's parameters do not fit the pattern: {reason}",
                pattern.as_str()
            );
        }
        let own = pattern.clone();
        let handler: ChannelHandler<U> = Arc::new(move |user, name| {
            let params = match own.parse::<P>(name)? {
                Ok(params) => params,
                Err(e) => return Some(Err(e)),
            };
            let fut = handler(user, params);
            Some(Ok(Box::pin(
                async move { fut.await.into_decision().map(wrap) },
            )))
        });
        let route = Route {
            kinds,
            pattern,
            handler,
        };
        Arc::make_mut(&mut self.routes).push(route);
        self
    }

    /// The patterns of the routes that grant `private-encrypted-` channels, with the method that
    /// registered each.
    pub(crate) fn encrypted_routes(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.routes.iter().filter_map(|r| match r.kinds {
            Kinds::PrivateAndEncrypted => Some((r.pattern.as_str(), "channel")),
            Kinds::One(ChannelKind::PrivateEncrypted) => Some((r.pattern.as_str(), "encrypted")),
            Kinds::One(_) => None,
        })
    }

    async fn decide(&self, user: U, request: ChannelRequest) -> Result<ChannelDecision, BoxError>
    where
        U: Clone,
    {
        let kind = request.channel().kind();
        let name = request.channel().name_without_prefix();
        let mut candidates = self.routes.iter().filter(|r| r.kinds.contains(kind));
        let mut user = Some(user);
        let mut route = candidates.next();
        while let Some(r) = route {
            let next = candidates.next();
            if r.pattern.matches(name).is_none() {
                route = next;
                continue;
            }
            // The last candidate may take the user; earlier ones get a clone.
            let this_user = match next {
                Some(_) => user.clone(),
                None => user.take(),
            };
            let Some(this_user) = this_user else {
                break;
            };
            let future = match (r.handler)(this_user, name) {
                // Matched above: a `None` here cannot happen, and would end the search.
                None => break,
                Some(Ok(future)) => future,
                Some(Err(e)) if !e.is_shape() => {
                    return Ok(ChannelDecision::deny(format!(
                        "route `{}`: {e}",
                        r.pattern.as_str(),
                    )))
                }
                Some(Err(e)) => {
                    return Err(Box::new(Misconfigured::new(format!(
                        "route `{}`: the parameters do not fit the handler: {e}",
                        r.pattern.as_str(),
                    ))))
                }
            };
            let decision = match future.await? {
                Decided::Access(Access::Allow) => ChannelDecision::Allow,
                Decided::Membership(Membership::Member(member)) => ChannelDecision::Member(member),
                Decided::Membership(Membership::SignedInMember) => ChannelDecision::SignedInMember,
                Decided::Access(Access::Deny(reason))
                | Decided::Membership(Membership::Deny(reason)) => {
                    ChannelDecision::deny(format!("route `{}`: {reason}", r.pattern.as_str()))
                }
                Decided::Access(Access::Pass) | Decided::Membership(Membership::Pass) => {
                    route = next;
                    continue;
                }
            };
            return Ok(decision);
        }
        Ok(ChannelDecision::deny(match kind {
            ChannelKind::Public => "public channels need no authorization",
            _ => "no channel route matches",
        }))
    }
}

impl<U> Authorizer<U> for ChannelRoutes<U>
where
    U: Clone + Send + Sync + 'static,
{
    type Error = BoxError;

    fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, BoxError>> + Send {
        self.decide(user, request)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::request::Params;
    use crate::{ChannelName, PresenceMember, SocketId, UserId};
    use std::convert::Infallible;

    fn request(channel: &str) -> ChannelRequest {
        let (head, ()) = http::Request::new(()).into_parts();
        ChannelRequest::new(
            SocketId::new("1.1").unwrap(),
            ChannelName::new(channel).unwrap(),
            Params::default(),
            head,
        )
    }

    /// A minimal executor for futures that never wait on I/O.
    fn block_on<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    struct User(&'static str);

    fn decide(routes: &ChannelRoutes<User>, channel: &str) -> Result<ChannelDecision, BoxError> {
        block_on(Authorizer::authorize(routes, User("ann"), request(channel)))
    }

    fn denied(d: &Result<ChannelDecision, BoxError>, why: &str) -> bool {
        matches!(d, Ok(ChannelDecision::Deny(r)) if r.contains(why))
    }

    #[test]
    fn routes_decide_in_order_with_the_user_and_typed_params() {
        #[derive(serde::Deserialize)]
        struct Two {
            a: u8,
            b: String,
        }
        let routes = ChannelRoutes::new()
            .channel("pass.{x}", |_u: User, _x: String| async { Access::Pass })
            .channel("pass.{x}", |u: User, x: String| async move {
                Access::allow_if(x == "ok" && u.0 == "ann", "not ok")
            })
            .private("num.{n}", |_u: User, n: u32| async move { n == 7 })
            .presence("pair.{a}.{b}", |u: User, (a, b): (u8, String)| async move {
                (a == 1 && b == "z").then(|| PresenceMember::new(UserId::new(u.0).unwrap()))
            })
            .encrypted("named.{a}.{b}", |_u: User, t: Two| async move {
                Ok::<_, Infallible>(t.a == 2 && t.b == "q")
            })
            .private("err", |_u: User, (): ()| async {
                Err::<bool, _>("database down")
            });
        assert_eq!(
            decide(&routes, "private-pass.ok").unwrap(),
            ChannelDecision::Allow
        );
        assert_eq!(
            decide(&routes, "private-encrypted-pass.ok").unwrap(),
            ChannelDecision::Allow
        );
        assert!(denied(&decide(&routes, "private-pass.no"), "not ok"));
        // `.channel` does not match presence channels.
        assert!(denied(
            &decide(&routes, "presence-pass.ok"),
            "no channel route matches"
        ));
        assert_eq!(
            decide(&routes, "private-num.7").unwrap(),
            ChannelDecision::Allow
        );
        assert!(denied(
            &decide(&routes, "private-num.8"),
            "route `num.{n}`: the route handler returned false"
        ));
        // The client's value does not parse: a denial naming the value.
        assert!(denied(
            &decide(&routes, "private-num.x"),
            "`x` is not a canonical u32"
        ));
        assert!(denied(
            &decide(&routes, "private-num.99999999999"),
            "not a canonical u32"
        ));
        // Canonical numbers only.
        for odd in ["007", "7e0", "-0", "07"] {
            assert!(
                denied(&decide(&routes, &format!("private-num.{odd}")), "canonical"),
                "{odd}"
            );
        }
        assert!(matches!(
            decide(&routes, "presence-pair.1.z").unwrap(),
            ChannelDecision::Member(_)
        ));
        assert!(denied(
            &decide(&routes, "presence-pair.2.z"),
            "returned no member"
        ));
        assert!(denied(
            &decide(&routes, "private-pair.1.z"),
            "no channel route matches"
        ));
        assert_eq!(
            decide(&routes, "private-encrypted-named.2.q").unwrap(),
            ChannelDecision::Allow
        );
        assert!(denied(&decide(&routes, "pass.ok"), "public"));
        assert_eq!(
            decide(&routes, "private-err").unwrap_err().to_string(),
            "database down"
        );
        // Prefix confusion: `private-encrypted-x` is an encrypted channel named `x`, never a
        // private channel named `encrypted-x`.
        let routes =
            ChannelRoutes::new().private("encrypted-{x}", |_u: User, _x: String| async { true });
        assert!(denied(
            &decide(&routes, "private-encrypted-x"),
            "no channel route matches"
        ));
        assert!(denied(
            &decide(&routes, "private-encrypted"),
            "no channel route matches"
        ));
    }

    #[test]
    fn enums_and_options_parse_as_values() {
        #[derive(serde::Deserialize, PartialEq, Debug)]
        #[serde(rename_all = "lowercase")]
        enum Team {
            Red,
            Blue,
        }
        let routes = ChannelRoutes::new()
            .private(
                "team.{t}",
                |_u: User, t: Team| async move { t == Team::Red },
            )
            .private("maybe.{m}", |_u: User, m: Option<u8>| async move {
                m == Some(3)
            });
        assert_eq!(
            decide(&routes, "private-team.red").unwrap(),
            ChannelDecision::Allow
        );
        assert!(denied(
            &decide(&routes, "private-team.blue"),
            "returned false"
        ));
        assert!(denied(
            &decide(&routes, "private-team.green"),
            "unknown variant"
        ));
        assert_eq!(
            decide(&routes, "private-maybe.3").unwrap(),
            ChannelDecision::Allow
        );
    }

    /// A value too long for a fixed-size type (as `arrayvec::ArrayString` reports it, with
    /// `invalid_length`) is the client's: a denial, not a 500.
    #[test]
    fn client_values_a_type_refuses_are_denials() {
        #[derive(Debug)]
        struct Code(String);
        impl<'de> serde::Deserialize<'de> for Code {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if s.len() > 4 {
                    return Err(serde::de::Error::invalid_length(
                        s.len(),
                        &"at most 4 bytes",
                    ));
                }
                Ok(Code(s))
            }
        }
        let routes = ChannelRoutes::new()
            .private("room.{code}", |_u: User, code: Code| async move {
                code.0 == "abcd"
            });
        assert_eq!(
            decide(&routes, "private-room.abcd").unwrap(),
            ChannelDecision::Allow
        );
        assert!(denied(
            &decide(&routes, "private-room.abcdefgh"),
            "at most 4 bytes"
        ));
    }

    fn registration_panic(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn parameters_that_cannot_fit_are_reported_at_registration() {
        let cases: Vec<(&str, String)> = vec![
            (
                "a tuple of 3 for 2 parameters",
                registration_panic(|| {
                    let _ = ChannelRoutes::new()
                        .private("a.{x}.{y}", |_u: User, _p: (u8, u8, u8)| async { true });
                }),
            ),
            (
                "a value for a pattern without parameters",
                registration_panic(|| {
                    let _ =
                        ChannelRoutes::new().private("chat", |_u: User, _p: u64| async { true });
                }),
            ),
            (
                "unit for a pattern with a parameter",
                registration_panic(|| {
                    let _ = ChannelRoutes::new()
                        .private("chat.{id}", |_u: User, (): ()| async { true });
                }),
            ),
            (
                "a struct field the pattern lacks",
                registration_panic(|| {
                    #[derive(serde::Deserialize)]
                    #[allow(dead_code)]
                    struct Order {
                        order_id: u64,
                    }
                    let _ = ChannelRoutes::new()
                        .private("orders.{id}", |_u: User, _o: Order| async { true });
                }),
            ),
            (
                "a single value for two parameters",
                registration_panic(|| {
                    let _ = ChannelRoutes::new()
                        .private("a.{x}.{y}", |_u: User, _p: String| async { true });
                }),
            ),
        ];
        let expected = [
            "channel route `a.{x}.{y}`: the handler's parameters do not fit the pattern: the handler takes a tuple of 3, the pattern has 2 parameters (x, y)",
            "channel route `chat`: the handler's parameters do not fit the pattern: the handler takes one value, the pattern has 0 parameters (take `()`)",
            "channel route `chat.{id}`: the handler's parameters do not fit the pattern: the handler takes `()`, the pattern has 1 parameters (id)",
            "channel route `orders.{id}`: the handler's parameters do not fit the pattern: the handler's field `order_id` is not a parameter of the pattern (id)",
            "channel route `a.{x}.{y}`: the handler's parameters do not fit the pattern: the handler takes one value, the pattern has 2 parameters (x, y; take a tuple or a struct)",
        ];
        for ((what, message), expected) in cases.iter().zip(expected) {
            assert_eq!(message, expected, "{what}");
        }
        // Shapes that fit, or that the probe cannot judge, register.
        let _ = ChannelRoutes::new()
            .private(
                "a.{x}.{y}",
                |_u: User, _p: std::collections::HashMap<String, String>| async { true },
            )
            .private("b.{x}", |_u: User, _p: serde_json::Value| async { true })
            .private("c.{x}.{y}", |_u: User, _p: Vec<String>| async { true });
    }

    #[test]
    #[should_panic(expected = "invalid channel pattern `a{`")]
    fn invalid_patterns_panic_at_registration() {
        let _ = ChannelRoutes::new().channel("a{", |_u: User, (): ()| async { true });
    }

    #[test]
    fn routes_that_grant_encrypted_channels_are_listed() {
        let routes = ChannelRoutes::new()
            .private("a", |_u: User, (): ()| async { true })
            .channel("b", |_u: User, (): ()| async { true })
            .encrypted("c.{x}", |_u: User, _x: u8| async { true })
            .presence("d", |_u: User, (): ()| async { Membership::deny("no") });
        let listed: Vec<_> = routes.encrypted_routes().collect();
        assert_eq!(listed, [("b", "channel"), ("c.{x}", "encrypted")]);
    }

    /// A panic at registration names the caller's line, not a line of this crate.
    #[test]
    fn registration_panics_point_at_the_callers_line() {
        let location = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = std::sync::Arc::clone(&location);
        let this_thread = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Other tests panic on purpose on other threads.
            if std::thread::current().id() == this_thread {
                *seen.lock().unwrap() = info.location().map(|l| (l.file().to_owned(), l.line()));
            }
        }));
        let line = line!() + 2;
        let result = std::panic::catch_unwind(|| {
            let _ = ChannelRoutes::new().private("a{", |_u: User, (): ()| async { true });
        });
        std::panic::set_hook(previous);
        assert!(result.is_err());
        let (file, at) = location.lock().unwrap().clone().unwrap();
        assert!(file.ends_with("routes/mod.rs"), "{file}");
        assert_eq!(at, line);
    }

    mod typed {
        use super::*;
        use pusher_protocol::channel::{Channel, Encrypted, NoEvents, Presence, Private};
        use serde::{Deserialize, Serialize};

        #[derive(Serialize, Deserialize)]
        struct Order {
            id: u64,
        }

        impl Channel for Order {
            type Kind = Private;
            const PATTERN: &'static str = "orders.{id}";
            type Event = NoEvents;
            type ClientEvent = NoEvents;
        }

        #[derive(Serialize, Deserialize)]
        struct Vault;

        impl Channel for Vault {
            type Kind = Encrypted;
            const PATTERN: &'static str = "vault";
            type Event = NoEvents;
            type ClientEvent = NoEvents;
        }

        #[derive(Serialize)]
        struct Info {
            name: &'static str,
        }

        #[derive(Serialize, Deserialize)]
        struct Team {
            team: u32,
        }

        impl Channel for Team {
            type Kind = Presence<Info>;
            const PATTERN: &'static str = "team.{team}";
            type Event = NoEvents;
            type ClientEvent = NoEvents;
        }

        #[test]
        fn typed_routes_take_kind_pattern_and_parameters_from_the_definition() {
            let routes = ChannelRoutes::new()
                .route(|user: User, order: Order| async move { user.0 == "ann" && order.id == 7 })
                .route(|_: User, Vault| async { true })
                .route(|user: User, team: Team| async move {
                    (team.team == 3).then(|| {
                        PresenceMember::new(UserId::new(user.0).unwrap())
                            .with_info(Info { name: user.0 })
                    })
                });
            assert_eq!(
                decide(&routes, "private-orders.7").unwrap(),
                ChannelDecision::Allow
            );
            assert!(denied(
                &decide(&routes, "private-orders.8"),
                "returned false"
            ));
            assert!(denied(
                &decide(&routes, "private-orders.07"),
                "not a canonical u64"
            ));
            // The kind is the definition's: not the encrypted variant of the order.
            assert!(denied(
                &decide(&routes, "private-encrypted-orders.7"),
                "no channel route matches"
            ));
            assert_eq!(
                decide(&routes, "private-encrypted-vault").unwrap(),
                ChannelDecision::Allow
            );
            let Ok(ChannelDecision::Member(member)) = decide(&routes, "presence-team.3") else {
                panic!("a member of team 3");
            };
            assert_eq!(
                member.channel_data().unwrap().as_str(),
                r#"{"user_id":"ann","user_info":{"name":"ann"}}"#
            );
            assert!(denied(&decide(&routes, "presence-team.4"), "no member"));
        }
    }
}
