//! Channel routes: Laravel-style patterns whose handlers receive your user first, then the
//! typed parameters of the channel name.
//!
//! ```
//! use pusher_auth::routes::{ChannelRoutes, Membership};
//! use pusher_auth::{PresenceMember, UserData, UserId};
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
//!     })
//!     // pusher.signin(): who the connection is.
//!     .user(|user: User| async move { UserData::new(UserId::from(user.id)) });
//! # fn check<A: pusher_auth::Authorizer>(_: &A) {}
//! # check(&routes); // an Authorizer reading `User` from the request extensions
//! ```
//!
//! Where the user comes from is the adapter's business, and it is found **once per HTTP request**
//! (a batch of 100 channels costs one session lookup):
//!
//! - plain tower: `ChannelRoutes<User>` is an [`Authorizer`] that reads `User` from the request
//!   extensions (put there by your login middleware);
//! - axum: `pusher_auth_axum::authorize_with(routes)` runs `User: FromRequestParts`;
//! - actix-web: the adapter's extractor hook puts `User` in the extensions.
//!
//! # What handlers return
//!
//! | route | handler returns |
//! |---|---|
//! | [`channel`](ChannelRoutes::channel), [`private`](ChannelRoutes::private), [`encrypted`](ChannelRoutes::encrypted) | `bool`, [`Access`], or `Result<_, E>` of either |
//! | [`presence`](ChannelRoutes::presence) | [`Membership`], `PresenceMember<T>`, `Option<PresenceMember<T>>`, or `Result<_, E>` of those |
//! | [`user`](ChannelRoutes::user) | [`UserDecision`], `UserData<T>`, `Option<UserData<T>>`, or `Result<_, E>` of those |
//!
//! A presence channel's answer must name the member, so presence routes cannot answer a bare
//! "allowed": [`channel`](ChannelRoutes::channel) matches `private-` and `private-encrypted-`
//! channels only (unlike Laravel's `Broadcast::channel`, which also matches presence and then
//! sends `true` as the member's info), and [`presence`](ChannelRoutes::presence) routes return a
//! [`Membership`]. An `Err` is a 500 (logged, never sent).
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
//! mistake: registration panics with the route and the reason, so it shows at start-up.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Serialize;

use pusher_protocol::{ChannelKind, ChannelName, PresenceMember, UserData};

use crate::authorizer::{
    missing_extension, Authorizer, BoxError, BoxFuture, ChannelDecision, ChannelRequest, Policy,
    UserDecision, UserRequest,
};

// ---------------------------------------------------------------------------------------------
// Patterns

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Param(String),
}

/// A compiled channel pattern such as `chat.{room}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

/// Why a pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid channel pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pattern: String,
    reason: &'static str,
}

impl Pattern {
    /// Compiles a pattern: literal channel-name characters and `{name}` parameters.
    ///
    /// ```
    /// use pusher_auth::routes::Pattern;
    /// assert!(Pattern::new("orders.{id}").is_ok());
    /// assert!(Pattern::new("private-orders.{id}").is_err()); // no kind prefix in patterns
    /// assert!(Pattern::new("a{x}{y}").is_err()); // adjacent parameters are ambiguous
    /// ```
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let err = |reason| PatternError {
            pattern: pattern.to_string(),
            reason,
        };
        if pattern.is_empty() {
            return Err(err("it is empty"));
        }
        for prefix in ["private-", "presence-"] {
            if pattern.starts_with(prefix) {
                return Err(err("it must not include the kind prefix; use .private(), .presence() or .encrypted()"));
            }
        }
        let mut tokens = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or_else(|| err("a `{` is not closed"))?;
                let name = after.get(..end).unwrap_or_default();
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(err(
                        "parameter names must be non-empty and use A-Z a-z 0-9 _",
                    ));
                }
                if matches!(tokens.last(), Some(Token::Param(_))) {
                    return Err(err("two parameters must be separated by a literal"));
                }
                if tokens
                    .iter()
                    .any(|t| matches!(t, Token::Param(n) if n == name))
                {
                    return Err(err("a parameter name repeats"));
                }
                tokens.push(Token::Param(name.to_string()));
                rest = after.get(end + 1..).unwrap_or_default();
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = rest.get(..end).unwrap_or_default();
                if !literal.bytes().all(ChannelName::is_allowed_byte) {
                    return Err(err("literals may only contain channel-name characters (A-Z a-z 0-9 _ - = @ , . ;)"));
                }
                tokens.push(Token::Literal(literal.to_string()));
                rest = rest.get(end..).unwrap_or_default();
            }
        }
        Ok(Pattern {
            source: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parameter names, in pattern order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|t| match t {
            Token::Param(name) => Some(name.as_str()),
            Token::Literal(_) => None,
        })
    }

    /// Matches `name` (a channel name without its kind prefix) fully; returns the parameters
    /// in pattern order. Takes time linear in `name` for a given pattern.
    ///
    /// ```
    /// use pusher_auth::routes::Pattern;
    /// let p = Pattern::new("orders.{id}.items.{item}")?;
    /// assert_eq!(p.matches("orders.7.items.x-1"), Some(vec![("id", "7"), ("item", "x-1")]));
    /// assert_eq!(p.matches("orders.7.items.x.1"), None);
    /// assert_eq!(p.matches("orders.7.items."), None);
    /// let p = Pattern::new("game-{id}-{team}")?;
    /// assert_eq!(p.matches("game-1-2-red"), Some(vec![("id", "1-2"), ("team", "red")]));
    /// # Ok::<(), pusher_auth::routes::PatternError>(())
    /// ```
    pub fn matches<'a>(&'a self, name: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        self.match_counting(name, &mut 0)
    }

    /// [`Pattern::matches`], adding the number of elementary steps taken to `steps`.
    ///
    /// The matcher is a dynamic programme over (token, position): `reach[i][p]` says whether
    /// tokens `i..` match `name[p..]`, computed backwards in one pass per token; a parameter
    /// keeps, per position, the furthest end from which the rest matches, so the captures are
    /// those a backtracking matcher would find (earlier parameters as long as possible), without
    /// its exponential search.
    fn match_counting<'a>(
        &'a self,
        name: &'a str,
        steps: &mut usize,
    ) -> Option<Vec<(&'a str, &'a str)>> {
        let bytes = name.as_bytes();
        let n = bytes.len();
        let m = self.tokens.len();
        // end[i][p]: for a parameter token, the end of its value when tokens i.. match at p;
        // for a literal, p + its length. `None`: tokens i.. do not match at p.
        let mut end: Vec<Vec<Option<usize>>> = vec![vec![None; n + 1]; m];
        let mut next: Vec<bool> = (0..=n).map(|p| p == n).collect();
        for (i, token) in self.tokens.iter().enumerate().rev() {
            let row = end.get_mut(i)?;
            let mut reach = vec![false; n + 1];
            match token {
                Token::Literal(lit) => {
                    for p in 0..=n {
                        *steps += 1 + lit.len();
                        let after = p + lit.len();
                        if bytes.get(p..after) == Some(lit.as_bytes())
                            && next.get(after).copied().unwrap_or(false)
                        {
                            mark(&mut reach, row, p, after);
                        }
                    }
                }
                Token::Param(_) => {
                    // best: the furthest e in (p, end of p's dot-free run] where tokens i+1..
                    // match; it only grows as p moves left within a run.
                    let mut best: Option<usize> = None;
                    for p in (0..n).rev() {
                        *steps += 1;
                        if bytes.get(p) == Some(&b'.') {
                            best = None;
                            continue;
                        }
                        let run_continues = bytes.get(p + 1).is_some_and(|&b| b != b'.');
                        if !run_continues {
                            best = None;
                        }
                        if best.is_none() && next.get(p + 1).copied().unwrap_or(false) {
                            best = Some(p + 1);
                        }
                        if let Some(e) = best {
                            mark(&mut reach, row, p, e);
                        }
                    }
                }
            }
            next = reach;
        }
        if !next.first().copied().unwrap_or(false) {
            return None;
        }
        let mut captures = Vec::new();
        let mut p = 0;
        for (i, token) in self.tokens.iter().enumerate() {
            *steps += 1;
            let e = end.get(i)?.get(p).copied().flatten()?;
            if let Token::Param(param) = token {
                captures.push((param.as_str(), name.get(p..e)?));
            }
            p = e;
        }
        Some(captures)
    }
}

/// Tokens `i..` match at `p`, the current token ending at `end`.
fn mark(reach: &mut [bool], row: &mut [Option<usize>], p: usize, end: usize) {
    if let (Some(r), Some(w)) = (reach.get_mut(p), row.get_mut(p)) {
        *r = true;
        *w = Some(end);
    }
}

// ---------------------------------------------------------------------------------------------
// What route handlers decide

/// What a `private-` or `private-encrypted-` route decides. A handler may also return a `bool`
/// (`false` denies, naming the route in the log).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// May join.
    Allow,
    /// May not join; the reason is logged, never sent (the client gets a 403).
    Deny(Cow<'static, str>),
    /// No opinion: the next matching route decides.
    Pass,
}

impl Access {
    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Access::Deny(reason.into())
    }

    /// `Allow` when `allowed`, else a denial with `reason`.
    pub fn allow_if(allowed: bool, reason: impl Into<Cow<'static, str>>) -> Self {
        if allowed {
            Access::Allow
        } else {
            Access::deny(reason)
        }
    }
}

impl From<bool> for Access {
    fn from(allowed: bool) -> Self {
        if allowed {
            Access::Allow
        } else {
            Access::Deny(Cow::Borrowed("the route handler returned false"))
        }
    }
}

/// What a `presence-` route decides: who the user is in the channel, or no.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Membership {
    /// Joins as this member (made by [`Membership::member`]).
    Member(crate::authorizer::Member),
    /// Joins as the user the connection signed in as (`pusher.signin()`), with no
    /// `channel_data` (see [`ChannelDecision::SignedInMember`]).
    SignedIn,
    /// May not join; the reason is logged, never sent.
    Deny(Cow<'static, str>),
    /// No opinion: the next matching route decides.
    Pass,
}

impl Membership {
    /// Joins as `member`, with typed user information serialized here, once.
    pub fn member<T: Serialize>(member: PresenceMember<T>) -> Self {
        match ChannelDecision::member(member) {
            ChannelDecision::Member(member) => Membership::Member(member),
            _ => Membership::Deny(Cow::Borrowed("unreachable")),
        }
    }

    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        Membership::Deny(reason.into())
    }
}

impl<T: Serialize> From<PresenceMember<T>> for Membership {
    fn from(member: PresenceMember<T>) -> Self {
        Membership::member(member)
    }
}

impl<T: Serialize> From<Option<PresenceMember<T>>> for Membership {
    /// `None` denies.
    fn from(member: Option<PresenceMember<T>>) -> Self {
        match member {
            Some(member) => Membership::member(member),
            None => Membership::Deny(Cow::Borrowed("the route handler returned no member")),
        }
    }
}

mod sealed {
    pub trait Sealed<D> {}
}

/// What a route handler's future may resolve to for a decision of type `D` (see the table in
/// the [module docs](self)): the decision, something that converts into it, or a `Result` of
/// either whose error becomes a 500.
#[diagnostic::on_unimplemented(
    message = "a route handler cannot return `{Self}` here",
    label = "this route's handler must return a `{D}`",
    note = "private and encrypted routes return `bool` or `Access`; presence routes return `Membership`, `PresenceMember<T>` or `Option<PresenceMember<T>>`; the sign-in handler returns `UserDecision`, `UserData<T>` or `Option<UserData<T>>`; any of them may be wrapped in `Result<_, E>`",
    note = "`Ok(…)` alone cannot name its error type: write `Ok::<_, Infallible>(…)`, or return the value without `Ok`"
)]
pub trait RouteOutput<D>: sealed::Sealed<D> + Send {
    /// The decision, or the handler's error.
    fn into_decision(self) -> Result<D, BoxError>;
}

macro_rules! route_output {
    ($d:ty: $($t:ty $(where $($g:ident: $b:path),*)?);* $(;)?) => {$(
        impl$(<$($g: $b + Send),*>)? sealed::Sealed<$d> for $t {}
        impl$(<$($g: $b + Send),*>)? RouteOutput<$d> for $t {
            fn into_decision(self) -> Result<$d, BoxError> {
                Ok(self.into())
            }
        }
    )*};
}

route_output!(Access: Access; bool);
route_output!(Membership: Membership; PresenceMember<T> where T: Serialize; Option<PresenceMember<T>> where T: Serialize);
route_output!(UserDecision: UserDecision; UserData<T> where T: Serialize; Option<UserData<T>> where T: Serialize);

impl<D, X, E> sealed::Sealed<D> for Result<X, E>
where
    X: RouteOutput<D>,
    E: Into<BoxError>,
{
}

impl<D, X, E> RouteOutput<D> for Result<X, E>
where
    X: RouteOutput<D>,
    E: Into<BoxError> + Send,
{
    fn into_decision(self) -> Result<D, BoxError> {
        self.map_err(Into::into)?.into_decision()
    }
}

// ---------------------------------------------------------------------------------------------
// Routes

type Captures<'a> = [(&'a str, &'a str)];
type ChannelHandler<U> = Arc<
    dyn Fn(U, &Captures<'_>) -> Result<BoxFuture<'static, Result<Decided, BoxError>>, ParamError>
        + Send
        + Sync,
>;
type UserHandler<U> =
    Arc<dyn Fn(U) -> BoxFuture<'static, Result<UserDecision, BoxError>> + Send + Sync>;

/// A route handler's decision, before it becomes a [`ChannelDecision`].
enum Decided {
    Access(Access),
    Membership(Membership),
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

/// Channel routes deciding for the user type `U`. See the [module docs](self).
///
/// It is a [`Policy<U>`] (the adapters hand it the user they found) and an [`Authorizer`]
/// that reads `U` from the request extensions (for plain tower stacks whose login middleware
/// inserts the user there).
pub struct ChannelRoutes<U> {
    routes: Arc<Vec<Route<U>>>,
    user: Option<UserHandler<U>>,
}

impl<U> Clone for ChannelRoutes<U> {
    fn clone(&self) -> Self {
        ChannelRoutes {
            routes: Arc::clone(&self.routes),
            user: self.user.clone(),
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
            .field("sign_in", &self.user.is_some())
            .finish()
    }
}

impl<U> Default for ChannelRoutes<U> {
    fn default() -> Self {
        ChannelRoutes {
            routes: Arc::new(Vec::new()),
            user: None,
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
        Fut::Output: RouteOutput<Access>,
    {
        self.route(
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
        Fut::Output: RouteOutput<Access>,
    {
        self.route(
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
        Fut::Output: RouteOutput<Access>,
    {
        self.route(
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
        Fut::Output: RouteOutput<Membership>,
    {
        self.route(
            Kinds::One(ChannelKind::Presence),
            pattern,
            handler,
            Decided::Membership,
        )
    }

    /// Sets the user sign-in handler (`pusher.signin()`): it returns a [`UserDecision`], a
    /// `UserData<T>`, an `Option<UserData<T>>` (`None` denies) or a `Result` of those. Without
    /// one, the sign-in endpoint is not answered.
    #[must_use]
    pub fn user<H, Fut>(mut self, handler: H) -> Self
    where
        H: Fn(U) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: RouteOutput<UserDecision>,
    {
        self.user = Some(Arc::new(move |user| {
            let fut = handler(user);
            Box::pin(async move { fut.await.into_decision() })
        }));
        self
    }

    #[track_caller]
    #[allow(clippy::panic)]
    fn route<H, P, Fut, D>(
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
        Fut::Output: RouteOutput<D>,
        D: 'static,
    {
        let pattern = Pattern::new(pattern).unwrap_or_else(|e| panic!("{e}"));
        if let Err(reason) = check_shape::<P>(&pattern) {
            panic!(
                "channel route `{}`: the handler's parameters do not fit the pattern: {reason}",
                pattern.as_str()
            );
        }
        let handler: ChannelHandler<U> = Arc::new(move |user, captures| {
            let params = P::deserialize(ParamsDeserializer(captures))?;
            let fut = handler(user, params);
            Ok(Box::pin(async move { fut.await.into_decision().map(wrap) }))
        });
        let route = Route {
            kinds,
            pattern,
            handler,
        };
        Arc::make_mut(&mut self.routes).push(route);
        self
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
            let Some(captures) = r.pattern.matches(name) else {
                route = next;
                continue;
            };
            // The last candidate may take the user; earlier ones get a clone.
            let this_user = match next {
                Some(_) => user.clone(),
                None => user.take(),
            };
            let Some(this_user) = this_user else {
                break;
            };
            let future = match (r.handler)(this_user, &captures) {
                Ok(future) => future,
                Err(e) if e.kind == ParamErrorKind::Value => {
                    return Ok(ChannelDecision::deny(format!(
                        "route `{}`: {}",
                        r.pattern.as_str(),
                        e.message
                    )))
                }
                Err(e) => {
                    return Err(Box::new(Misconfigured(format!(
                        "route `{}`: the parameters do not fit the handler: {}",
                        r.pattern.as_str(),
                        e.message
                    ))))
                }
            };
            let decision = match future.await? {
                Decided::Access(Access::Allow) => ChannelDecision::Allow,
                Decided::Membership(Membership::Member(member)) => ChannelDecision::Member(member),
                Decided::Membership(Membership::SignedIn) => ChannelDecision::SignedInMember,
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

impl<U> Policy<U> for ChannelRoutes<U>
where
    U: Clone + Send + Sync + 'static,
{
    type Error = BoxError;

    fn authorize_channel(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, BoxError>> + Send {
        self.decide(user, request)
    }

    fn authenticate_user(
        &self,
        user: U,
        _request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, BoxError>> + Send {
        let handler = self.user.clone();
        async move {
            match handler {
                Some(handler) => handler(user).await,
                None => Ok(UserDecision::deny("user sign-in is not configured")),
            }
        }
    }

    fn signs_in(&self) -> bool {
        self.user.is_some()
    }
}

/// Reads `U` from the request extensions: a request without one is denied (logged with the
/// type's name).
impl<U> Authorizer for ChannelRoutes<U>
where
    U: Clone + Send + Sync + 'static,
{
    type Error = BoxError;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, BoxError> {
        match request.extensions().get::<U>().cloned() {
            Some(user) => self.decide(user, request).await,
            None => Ok(ChannelDecision::deny(missing_extension::<U>())),
        }
    }

    async fn authenticate_user(&self, request: UserRequest) -> Result<UserDecision, BoxError> {
        match request.extensions().get::<U>().cloned() {
            Some(user) => Policy::authenticate_user(self, user, request).await,
            None => Ok(UserDecision::deny(missing_extension::<U>())),
        }
    }

    fn signs_in(&self) -> bool {
        self.user.is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters into typed values: one value, a tuple, a struct, or unit.

/// A route's handler cannot take the parameters its pattern gave (a shape the registration
/// check could not judge): the app's mistake, answered 500 `misconfigured` and logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Misconfigured(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamErrorKind {
    /// The client's value does not parse (`room.abc` for a number): a denial.
    Value,
    /// The handler's type does not fit the pattern: the app's mistake.
    Shape,
}

/// Why route parameters did not deserialize.
#[derive(Debug)]
struct ParamError {
    kind: ParamErrorKind,
    message: String,
}

impl ParamError {
    fn shape(message: String) -> Self {
        ParamError {
            kind: ParamErrorKind::Shape,
            message,
        }
    }

    fn value(message: String) -> Self {
        ParamError {
            kind: ParamErrorKind::Value,
            message,
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// Errors a `Deserialize` implementation raises about the client's value (a number that does
/// not parse, an unknown enum variant, a string too long for a fixed-size type) are the
/// client's: a 403. Only a missing or unknown struct field says the handler's type does not
/// fit the pattern (and the registration check catches those first).
impl de::Error for ParamError {
    fn custom<D: fmt::Display>(msg: D) -> Self {
        ParamError::value(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        ParamError::shape(format!("the pattern has no parameter `{field}`"))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        ParamError::shape(format!("the handler has no field for parameter `{field}`"))
    }

    fn duplicate_field(field: &'static str) -> Self {
        ParamError::shape(format!("parameter `{field}` appears twice"))
    }
}

/// At most 40 characters of a client's value, for log lines.
fn short(value: &str) -> String {
    value.chars().take(40).collect()
}

struct ParamsDeserializer<'a, 'b>(&'b Captures<'a>);

impl ParamsDeserializer<'_, '_> {
    fn one(&self) -> Result<&str, ParamError> {
        match self.0 {
            [(_, value)] => Ok(value),
            _ => Err(ParamError::shape(format!(
                "the handler takes one parameter, the pattern has {}",
                self.0.len()
            ))),
        }
    }
}

macro_rules! single_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            ValueDeserializer(self.one()?).$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'_, '_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(de::value::MapDeserializer::new(
            self.0.iter().map(|&(k, v)| (k, ValueDeserializer(v))),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_seq(de::value::SeqDeserializer::new(
            self.0.iter().map(|&(_, v)| ValueDeserializer(v)),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        if len != self.0.len() {
            return Err(ParamError::shape(format!(
                "the handler takes a tuple of {len}, the pattern has {} parameters",
                self.0.len()
            )));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        if !self.0.is_empty() {
            return Err(ParamError::shape(format!(
                "the handler takes `()`, the pattern has {} parameters",
                self.0.len()
            )));
        }
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    single_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_option deserialize_identifier
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        ValueDeserializer(self.one()?).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

/// One parameter value: a string that numbers and booleans are parsed from, canonically.
#[derive(Clone, Copy)]
struct ValueDeserializer<'a>(&'a str);

impl<'de> IntoDeserializer<'de, ParamError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident: $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            // Canonical text only: the value must read back as written (no `007`, `+7`, `1e2`).
            match self.0.parse::<$ty>() {
                Ok(v) if v.to_string() == self.0 => visitor.$visit(v),
                _ => Err(ParamError::value(format!(
                    "`{}` is not a canonical {}",
                    short(self.0),
                    stringify!($ty)
                ))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_str(self.0)
    }

    parse_value! {
        deserialize_bool => visit_bool: bool, deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16, deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64, deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8, deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32, deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128, deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64, deserialize_char => visit_char: char
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_enum(de::value::StrDeserializer::<ParamError>::new(self.0))
    }

    serde::forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

// ---------------------------------------------------------------------------------------------
// Checking a handler's parameter type against its pattern at registration.

/// The shape a parameter type asks the deserializer for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Anything: `deserialize_any`, maps, sequences (`serde_json::Value`, `HashMap`, `Vec`).
    Any,
    Unit,
    One,
    Tuple(usize),
    Struct(&'static [&'static str]),
}

/// Records the first shape asked for, then stops the deserialization.
struct Probe<'a>(&'a Cell<Option<Shape>>);

impl Probe<'_> {
    fn record<T>(&self, shape: Shape) -> Result<T, ParamError> {
        self.0.set(Some(shape));
        Err(ParamError::shape(String::from("probe")))
    }
}

macro_rules! probe_one {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
            self.record(Shape::One)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Unit)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Unit)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Tuple(len))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Tuple(len))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::Struct(fields))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_some(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ParamError> {
        self.record(Shape::One)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ParamError> {
        self.record(Shape::Any)
    }

    probe_one! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
    }
}

/// Whether `P` can receive `pattern`'s parameters; the reason when it cannot.
fn check_shape<P: DeserializeOwned>(pattern: &Pattern) -> Result<(), String> {
    let seen = Cell::new(None);
    let _ = P::deserialize(Probe(&seen));
    let params: Vec<&str> = pattern.params().collect();
    let count = params.len();
    match seen.into_inner().unwrap_or(Shape::Any) {
        Shape::Any => Ok(()),
        Shape::Unit if count == 0 => Ok(()),
        Shape::Unit => Err(format!(
            "the handler takes `()`, the pattern has {count} parameters ({})",
            params.join(", ")
        )),
        Shape::One if count == 1 => Ok(()),
        Shape::One => Err(format!(
            "the handler takes one value, the pattern has {count} parameters{}",
            if count == 0 {
                String::from(" (take `()`)")
            } else {
                format!(" ({}; take a tuple or a struct)", params.join(", "))
            }
        )),
        Shape::Tuple(len) if len == count => Ok(()),
        Shape::Tuple(len) => Err(format!(
            "the handler takes a tuple of {len}, the pattern has {count} parameters ({})",
            params.join(", ")
        )),
        Shape::Struct(fields) => match fields.iter().find(|f| !params.contains(f)) {
            None => Ok(()),
            Some(missing) => Err(format!(
                "the handler's field `{missing}` is not a parameter of the pattern ({})",
                params.join(", ")
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Params;
    use crate::{SocketId, UserId};
    use proptest::prelude::*;
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
        block_on(Policy::authorize_channel(
            routes,
            User("ann"),
            request(channel),
        ))
    }

    fn denied(d: &Result<ChannelDecision, BoxError>, why: &str) -> bool {
        matches!(d, Ok(ChannelDecision::Deny(r)) if r.contains(why))
    }

    #[test]
    fn patterns_match_fully_and_literally() {
        let p = Pattern::new("orders.{id}").unwrap();
        assert_eq!(p.matches("orders.1"), Some(vec![("id", "1")]));
        for no in [
            "ordersShipment.1",
            "orders.",
            "orders.1.2",
            "xorders.1",
            "orders",
            "orders.1x.",
            "ordersX1",
        ] {
            assert_eq!(p.matches(no), None, "{no}");
        }
        let p = Pattern::new("App.Employee.{id}").unwrap();
        assert_eq!(p.matches("App.Employee.1.Extra"), None);
        assert_eq!(p.matches("AppXEmployee.1"), None);
        let p = Pattern::new("chat").unwrap();
        assert_eq!(p.matches("chat"), Some(vec![]));
        assert_eq!(p.matches("chat2"), None);
        let p = Pattern::new("room-{a}-x.{b}").unwrap();
        assert_eq!(
            p.matches("room-1-2-x.y"),
            Some(vec![("a", "1-2"), ("b", "y")])
        );
        let p = Pattern::new("{a}-{b}-{c}").unwrap();
        assert_eq!(
            p.matches("1-2-3-4"),
            Some(vec![("a", "1-2"), ("b", "3"), ("c", "4")])
        );
        assert_eq!(p.matches("1-2"), None);
        assert_eq!(p.matches("1--2"), None);
        for bad in [
            "",
            "{}",
            "a{",
            "a{b c}",
            "a{x}{y}",
            "private-a",
            "presence-a",
            "a/b",
            "{x}.{x}",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }

    /// The matcher the old backtracking one was: the reference for the captures.
    fn backtrack<'a>(
        tokens: &'a [Token],
        name: &'a str,
        captures: &mut Vec<(&'a str, &'a str)>,
    ) -> bool {
        let Some((first, rest)) = tokens.split_first() else {
            return name.is_empty();
        };
        match first {
            Token::Literal(lit) => name
                .strip_prefix(lit.as_str())
                .is_some_and(|remaining| backtrack(rest, remaining, captures)),
            Token::Param(param) => {
                let limit = name.find('.').unwrap_or(name.len());
                for end in (1..=limit).rev() {
                    captures.push((param.as_str(), &name[..end]));
                    if backtrack(rest, &name[end..], captures) {
                        return true;
                    }
                    captures.pop();
                }
                false
            }
        }
    }

    /// The pattern of the reported attack: 164 bytes cost ~200 ms with backtracking.
    #[test]
    fn the_reported_pattern_is_linear() {
        let p = Pattern::new("game-{id}-{team}-{role}-{seat}").unwrap();
        let name = format!("game-{}", "-".repeat(140) + "x.");
        let mut steps = 0;
        assert_eq!(p.match_counting(&name, &mut steps), None);
        // 9 tokens over 147 bytes: a few thousand steps, where backtracking needs billions.
        assert!(steps < 9 * 150 * 8, "{steps} steps");
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        // Literals from a small alphabet rich in separators, parameters between them.
        proptest::collection::vec(("[-.ab]{1,3}", any::<bool>()), 1..7).prop_map(|parts| {
            let mut out = String::new();
            for (i, (lit, param)) in parts.into_iter().enumerate() {
                out.push_str(&lit);
                if param {
                    out.push_str(&format!("{{p{i}}}"));
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// The work is bounded by (name length + 1) × (pattern length + 1), and the captures
        /// are exactly those of a backtracking matcher.
        #[test]
        fn matching_is_linear_and_agrees_with_backtracking(
            pattern in pattern_strategy(),
            name in "[-.abx]{0,40}",
        ) {
            let p = Pattern::new(&pattern).unwrap();
            let mut steps = 0;
            let ours = p.match_counting(&name, &mut steps);
            let bound = 2 * (name.len() + 2) * (pattern.len() + 2);
            prop_assert!(steps <= bound, "{} steps for {:?} on {:?} (bound {})", steps, pattern, name, bound);
            let mut captures = Vec::new();
            let reference = backtrack(&p.tokens, &name, &mut captures).then_some(captures);
            prop_assert_eq!(ours, reference);
        }

        /// Long names against the worst patterns stay within the same bound.
        #[test]
        fn worst_case_names_stay_linear(k in 2usize..8, len in 1usize..164) {
            let pattern = (0..k).map(|i| format!("{{p{i}}}")).collect::<Vec<_>>().join("-");
            let p = Pattern::new(&format!("g-{pattern}")).unwrap();
            let name = format!("g-{}x.", "-".repeat(len));
            let mut steps = 0;
            let _ = p.match_counting(&name, &mut steps);
            prop_assert!(steps <= 2 * (name.len() + 2) * (pattern.len() + 4));
        }
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
                    return Err(de::Error::invalid_length(s.len(), &"at most 4 bytes"));
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

    #[test]
    fn sign_in_through_routes() {
        let routes: ChannelRoutes<User> = ChannelRoutes::new();
        assert!(!Policy::signs_in(&routes));
        let routes =
            routes.user(|u: User| async move { Some(UserData::new(UserId::new(u.0).unwrap())) });
        assert!(Policy::signs_in(&routes));
        let (head, ()) = http::Request::new(()).into_parts();
        let request = UserRequest::new(SocketId::new("1.1").unwrap(), Params::default(), head);
        let decision = block_on(Policy::authenticate_user(&routes, User("ann"), request)).unwrap();
        assert!(
            matches!(decision, UserDecision::SignIn(u) if u.user_data().unwrap().id().as_str() == "ann")
        );
    }

    #[test]
    fn from_extensions_without_the_user_denies_naming_the_type() {
        let routes = ChannelRoutes::new().private("chat", |_u: User, (): ()| async { true });
        let d = block_on(Authorizer::authorize_channel(
            &routes,
            request("private-chat"),
        ));
        assert!(denied(
            &d,
            "no `pusher_auth::routes::tests::User` in the request extensions"
        ));
        let (mut head, ()) = http::Request::new(()).into_parts();
        head.extensions.insert(User("ann"));
        let with_user = ChannelRequest::new(
            SocketId::new("1.1").unwrap(),
            ChannelName::new("private-chat").unwrap(),
            Params::default(),
            head,
        );
        assert_eq!(
            block_on(Authorizer::authorize_channel(&routes, with_user)).unwrap(),
            ChannelDecision::Allow
        );
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
}
