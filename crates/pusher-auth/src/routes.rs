//! Channel routes: Laravel-style patterns with typed parameters, themselves an [`Authorizer`].
//!
//! ```
//! use pusher_auth::authorizer::{ChannelDecision, ChannelRequest};
//! use pusher_auth::routes::ChannelRoutes;
//! use pusher_auth::{PresenceMember, UserId};
//! use std::convert::Infallible;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { id: u64 }
//!
//! let routes = ChannelRoutes::new()
//!     // private-chat.42, presence-chat.42 and private-encrypted-chat.42 all match.
//!     .channel("chat.{room}", |_req: ChannelRequest, room: u32| async move {
//!         Ok::<_, Infallible>(ChannelDecision::allow_if(room < 100, "no such room"))
//!     })
//!     // Only presence-lobby.
//!     .presence("lobby", |req: ChannelRequest, (): ()| async move {
//!         let id = req.headers().get("x-user").and_then(|v| v.to_str().ok()).and_then(|v| UserId::new(v).ok());
//!         Ok::<_, Infallible>(match id {
//!             Some(id) => ChannelDecision::member(PresenceMember::new(id)),
//!             None => ChannelDecision::deny("anonymous"),
//!         })
//!     })
//!     // Named parameters into a struct.
//!     .private("orders.{id}", |_req: ChannelRequest, order: Order| async move {
//!         Ok::<_, Infallible>(ChannelDecision::allow_if(order.id != 0, "order 0 is nobody's"))
//!     });
//! # fn check<A: pusher_auth::authorizer::Authorizer>(_: &A) {}
//! # check(&routes);
//! ```
//!
//! # Matching rules
//!
//! - The kind prefix (`private-encrypted-`, `private-`, `presence-`) is removed first, and the
//!   rest is matched against the pattern. Public channels never match (they need no
//!   authorization). [`ChannelRoutes::channel`] matches every authorized kind;
//!   [`ChannelRoutes::private`], [`ChannelRoutes::presence`] and [`ChannelRoutes::encrypted`]
//!   match one.
//! - A pattern matches the **whole** remaining name: `chat` does not match `chat2` or
//!   `chat.1`, and `orders.{id}` does not match `ordersShipment.1` (literals, dots included, are
//!   compared exactly, never as wildcards).
//! - A parameter `{name}` matches one or more characters **other than `.`**, so a dot always
//!   separates segments and a parameter can never swallow one.
//! - Routes are tried in registration order. A route whose parameters fail to parse denies
//!   (a 403, logged with the reason); a handler that returns [`ChannelDecision::Pass`] hands
//!   over to the next matching route. When no route decides, the request is denied.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::authorizer::{
    Authorizer, BoxError, BoxFuture, ChannelDecision, ChannelRequest, UserDecision, UserRequest,
};
use crate::names::{is_name_byte, ChannelKind};

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
                if !literal.bytes().all(is_name_byte) {
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

    /// Matches `name` (a channel name without its kind prefix) fully; returns the parameters
    /// in pattern order.
    ///
    /// ```
    /// use pusher_auth::routes::Pattern;
    /// let p = Pattern::new("orders.{id}.items.{item}")?;
    /// assert_eq!(p.matches("orders.7.items.x-1"), Some(vec![("id", "7"), ("item", "x-1")]));
    /// assert_eq!(p.matches("orders.7.items.x.1"), None);
    /// assert_eq!(p.matches("orders.7.items."), None);
    /// # Ok::<(), pusher_auth::routes::PatternError>(())
    /// ```
    pub fn matches<'a>(&'a self, name: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        let mut captures = Vec::new();
        match_tokens(&self.tokens, name, &mut captures).then_some(captures)
    }
}

fn match_tokens<'a>(
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
            .is_some_and(|remaining| match_tokens(rest, remaining, captures)),
        Token::Param(param) => {
            // One or more non-dot characters; try the longest first, then shorter (patterns
            // never put two parameters side by side, so this is at most linear per literal).
            let limit = name.find('.').unwrap_or(name.len());
            for end in (1..=limit).rev() {
                let (Some(value), Some(remaining)) = (name.get(..end), name.get(end..)) else {
                    continue;
                };
                captures.push((param.as_str(), value));
                if match_tokens(rest, remaining, captures) {
                    return true;
                }
                captures.pop();
            }
            false
        }
    }
}

type Handler = Arc<
    dyn Fn(
            ChannelRequest,
            Vec<(String, String)>,
        ) -> BoxFuture<'static, Result<ChannelDecision, BoxError>>
        + Send
        + Sync,
>;
type UserHandler =
    Arc<dyn Fn(UserRequest) -> BoxFuture<'static, Result<UserDecision, BoxError>> + Send + Sync>;

struct Route {
    kind: Option<ChannelKind>,
    pattern: Pattern,
    handler: Handler,
}

/// An [`Authorizer`] built from channel patterns. See the [module docs](self) for the rules.
pub struct ChannelRoutes {
    routes: Arc<Vec<Route>>,
    user: Option<UserHandler>,
}

impl Clone for ChannelRoutes {
    fn clone(&self) -> Self {
        ChannelRoutes {
            routes: Arc::clone(&self.routes),
            user: self.user.clone(),
        }
    }
}

impl fmt::Debug for ChannelRoutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r.kind.map_or("*-", ChannelKind::prefix),
                    r.pattern.as_str()
                )
            })
            .collect();
        f.debug_struct("ChannelRoutes")
            .field("routes", &routes)
            .field("user", &self.user.is_some())
            .finish()
    }
}

impl Default for ChannelRoutes {
    fn default() -> Self {
        ChannelRoutes {
            routes: Arc::new(Vec::new()),
            user: None,
        }
    }
}

impl ChannelRoutes {
    /// No routes: every channel is denied.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route for every authorized kind (private, presence, private-encrypted).
    ///
    /// The handler receives the request and the parameters as `P`: a single value (`u64`,
    /// `String`, …) for one parameter, a tuple in pattern order, a struct with named fields,
    /// or `()` for none. Values parse like `FromStr`; a value that does not parse denies.
    ///
    /// # Panics
    ///
    /// When `pattern` is invalid (see [`Pattern::new`]): a programming error, reported at
    /// start-up.
    #[must_use]
    pub fn channel<H, P, Fut, E>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(ChannelRequest, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<ChannelDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.route(None, pattern, handler)
    }

    /// Adds a route for `private-` channels only. See [`ChannelRoutes::channel`].
    #[must_use]
    pub fn private<H, P, Fut, E>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(ChannelRequest, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<ChannelDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.route(Some(ChannelKind::Private), pattern, handler)
    }

    /// Adds a route for `presence-` channels only. See [`ChannelRoutes::channel`].
    #[must_use]
    pub fn presence<H, P, Fut, E>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(ChannelRequest, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<ChannelDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.route(Some(ChannelKind::Presence), pattern, handler)
    }

    /// Adds a route for `private-encrypted-` channels only. See [`ChannelRoutes::channel`].
    #[must_use]
    pub fn encrypted<H, P, Fut, E>(self, pattern: &str, handler: H) -> Self
    where
        H: Fn(ChannelRequest, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<ChannelDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.route(Some(ChannelKind::PrivateEncrypted), pattern, handler)
    }

    /// Sets the user sign-in handler (without one, sign-in is denied).
    #[must_use]
    pub fn user<H, Fut, E>(mut self, handler: H) -> Self
    where
        H: Fn(UserRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<UserDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        self.user = Some(Arc::new(move |req| {
            let fut = handler(req);
            Box::pin(async move { fut.await.map_err(Into::into) })
        }));
        self
    }

    #[allow(clippy::panic)]
    fn route<H, P, Fut, E>(mut self, kind: Option<ChannelKind>, pattern: &str, handler: H) -> Self
    where
        H: Fn(ChannelRequest, P) -> Fut + Send + Sync + 'static,
        P: DeserializeOwned + Send + 'static,
        Fut: Future<Output = Result<ChannelDecision, E>> + Send + 'static,
        E: Into<BoxError> + Send + 'static,
    {
        let pattern = Pattern::new(pattern).unwrap_or_else(|e| panic!("{e}"));
        let handler: Handler =
            Arc::new(
                move |req, captures| match P::deserialize(ParamsDeserializer(&captures)) {
                    Ok(params) => {
                        let fut = handler(req, params);
                        Box::pin(async move { fut.await.map_err(Into::into) })
                    }
                    Err(e) => {
                        let reason: Cow<'static, str> =
                            format!("channel parameters do not parse: {e}").into();
                        Box::pin(async move { Ok(ChannelDecision::Deny(reason)) })
                    }
                },
            );
        let routes = Arc::get_mut(&mut self.routes);
        let route = Route {
            kind,
            pattern,
            handler,
        };
        match routes {
            Some(routes) => routes.push(route),
            None => {
                // Shared with a clone: copy the table before adding.
                let mut copy: Vec<Route> = self
                    .routes
                    .iter()
                    .map(|r| Route {
                        kind: r.kind,
                        pattern: r.pattern.clone(),
                        handler: Arc::clone(&r.handler),
                    })
                    .collect();
                copy.push(route);
                self.routes = Arc::new(copy);
            }
        }
        self
    }

    async fn decide(&self, request: ChannelRequest) -> Result<ChannelDecision, BoxError> {
        let kind = request.channel().kind();
        if kind == ChannelKind::Public {
            return Ok(ChannelDecision::deny(
                "public channels need no authorization",
            ));
        }
        let name = request.channel().name_without_prefix().to_string();
        for route in self.routes.iter() {
            if route.kind.is_some_and(|k| k != kind) {
                continue;
            }
            let Some(captures) = route.pattern.matches(&name) else {
                continue;
            };
            let captures = captures
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            match (route.handler)(request.clone(), captures).await? {
                ChannelDecision::Pass => continue,
                decision => return Ok(decision),
            }
        }
        Ok(ChannelDecision::deny("no channel route matches"))
    }
}

impl Authorizer for ChannelRoutes {
    type Error = BoxError;

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, BoxError>> + Send {
        self.decide(request)
    }

    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, BoxError>> + Send {
        let user = self.user.clone();
        async move {
            match user {
                Some(handler) => handler(request).await,
                None => Ok(UserDecision::deny("user sign-in is not configured")),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters into typed values: one value, a tuple, a struct, or unit.

/// Why route parameters did not parse.
#[derive(Debug)]
struct ParamError(String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

impl de::Error for ParamError {
    fn custom<D: fmt::Display>(msg: D) -> Self {
        ParamError(msg.to_string())
    }
}

struct ParamsDeserializer<'a>(&'a [(String, String)]);

macro_rules! single_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            match self.0 {
                [(_, value)] => ValueDeserializer(value).$method(visitor),
                _ => Err(ParamError(format!("expected one parameter, the pattern has {}", self.0.len()))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ParamsDeserializer<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(de::value::MapDeserializer::new(
            self.0
                .iter()
                .map(|(k, v)| (k.as_str(), ValueDeserializer(v))),
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
            self.0.iter().map(|(_, v)| ValueDeserializer(v)),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        if len != self.0.len() {
            return Err(ParamError(format!(
                "expected a tuple of {len}, the pattern has {} parameters",
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
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
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
        match self.0 {
            [(_, value)] => ValueDeserializer(value).deserialize_enum(name, variants, visitor),
            _ => Err(ParamError("expected one parameter for an enum".into())),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_unit()
    }
}

/// One parameter value: a string that numbers and booleans are parsed from.
#[derive(Clone, Copy)]
struct ValueDeserializer<'a>(&'a str);

impl<'de> IntoDeserializer<'de, ParamError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_value {
    ($($method:ident => $visit:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            match self.0.parse() {
                Ok(v) => visitor.$visit(v),
                Err(_) => Err(ParamError(format!("`{}` is not a valid {}", self.0.chars().take(40).collect::<String>(), stringify!($method).trim_start_matches("deserialize_")))),
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
        deserialize_bool => visit_bool, deserialize_i8 => visit_i8, deserialize_i16 => visit_i16,
        deserialize_i32 => visit_i32, deserialize_i64 => visit_i64, deserialize_i128 => visit_i128,
        deserialize_u8 => visit_u8, deserialize_u16 => visit_u16, deserialize_u32 => visit_u32,
        deserialize_u64 => visit_u64, deserialize_u128 => visit_u128, deserialize_f32 => visit_f32,
        deserialize_f64 => visit_f64, deserialize_char => visit_char
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
        visitor.visit_enum(self.0.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Params;
    use crate::{ChannelName, SocketId};
    use std::convert::Infallible;

    fn request(channel: &str) -> ChannelRequest {
        let (head, ()) = http::Request::new(()).into_parts();
        ChannelRequest::new(
            SocketId::new("1.1").unwrap(),
            ChannelName::new(channel).unwrap(),
            Arc::new(Params::default()),
            Arc::new(head),
        )
    }

    fn decide<A: Authorizer>(a: &A, channel: &str) -> ChannelDecision {
        let fut = a.authorize_channel(request(channel));
        match futures_lite_block_on(fut) {
            Ok(d) => d,
            Err(e) => panic!("error: {}", e.into()),
        }
    }

    /// A minimal executor for futures that never wait on I/O.
    fn futures_lite_block_on<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
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

    #[test]
    fn routes_decide_in_order_with_typed_params() {
        #[derive(serde::Deserialize)]
        struct Two {
            a: u8,
            b: String,
        }
        let routes = ChannelRoutes::new()
            .channel("pass.{x}", |_r: ChannelRequest, _x: String| async {
                Ok::<_, Infallible>(ChannelDecision::Pass)
            })
            .channel("pass.{x}", |_r: ChannelRequest, x: String| async move {
                Ok::<_, Infallible>(ChannelDecision::allow_if(x == "ok", "not ok"))
            })
            .private("num.{n}", |_r: ChannelRequest, n: u32| async move {
                Ok::<_, Infallible>(ChannelDecision::allow_if(n == 7, "not 7"))
            })
            .presence(
                "pair.{a}.{b}",
                |_r: ChannelRequest, (a, b): (u8, String)| async move {
                    Ok::<_, Infallible>(if a == 1 && b == "z" {
                        ChannelDecision::member(crate::PresenceMember::new(crate::UserId::from(a)))
                    } else {
                        ChannelDecision::deny("no")
                    })
                },
            )
            .encrypted("named.{a}.{b}", |_r: ChannelRequest, t: Two| async move {
                Ok::<_, Infallible>(ChannelDecision::allow_if(t.a == 2 && t.b == "q", "no"))
            });
        assert_eq!(decide(&routes, "private-pass.ok"), ChannelDecision::Allow);
        assert!(matches!(
            decide(&routes, "private-pass.no"),
            ChannelDecision::Deny(_)
        ));
        assert_eq!(decide(&routes, "private-num.7"), ChannelDecision::Allow);
        assert!(
            matches!(decide(&routes, "private-num.x"), ChannelDecision::Deny(r) if r.contains("not a valid u32"))
        );
        assert!(matches!(
            decide(&routes, "private-num.99999999999"),
            ChannelDecision::Deny(_)
        ));
        assert!(
            matches!(decide(&routes, "presence-num.7"), ChannelDecision::Deny(r) if r == "no channel route matches")
        );
        assert!(matches!(
            decide(&routes, "presence-pair.1.z"),
            ChannelDecision::Member(_)
        ));
        assert!(matches!(
            decide(&routes, "private-pair.1.z"),
            ChannelDecision::Deny(_)
        ));
        assert_eq!(
            decide(&routes, "private-encrypted-named.2.q"),
            ChannelDecision::Allow
        );
        assert!(
            matches!(decide(&routes, "pass.ok"), ChannelDecision::Deny(r) if r.contains("public"))
        );
        // Prefix confusion: `private-encrypted-x` is an encrypted channel named `x`, never a
        // private channel named `encrypted-x`.
        let routes = ChannelRoutes::new()
            .private("encrypted-{x}", |_r: ChannelRequest, _x: String| async {
                Ok::<_, Infallible>(ChannelDecision::Allow)
            });
        assert!(matches!(
            decide(&routes, "private-encrypted-x"),
            ChannelDecision::Deny(_)
        ));
        assert_eq!(
            decide(&routes, "private-encrypted"),
            ChannelDecision::Deny("no channel route matches".into())
        );
    }

    #[test]
    #[should_panic(expected = "invalid channel pattern `a{`")]
    fn invalid_patterns_panic_at_registration() {
        let _ = ChannelRoutes::new().channel("a{", |_r: ChannelRequest, (): ()| async {
            Ok::<_, Infallible>(ChannelDecision::Allow)
        });
    }
}
