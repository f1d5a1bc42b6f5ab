//! The [`Authorizer`] trait: who may join which channel, and who a connection signs in as.
//!
//! One authorizer works unchanged under every adapter (the tower layer, axum, actix-web). It
//! receives an owned request carrying the validated socket id and channel, the extra `params`
//! the client sent, and the HTTP request head, whose extensions hold whatever session or login
//! middleware put there.
//!
//! ```
//! use pusher_auth::authorizer::{Authorizer, ChannelDecision, ChannelRequest};
//! use pusher_auth::{ChannelKind, PresenceMember, UserId};
//!
//! #[derive(Clone)]
//! struct LoggedIn { id: u64, name: String }
//!
//! // A closure is an authorizer.
//! let authorizer = |request: ChannelRequest| async move {
//!     let Some(user) = request.extensions().get::<LoggedIn>().cloned() else {
//!         return Ok::<_, std::convert::Infallible>(ChannelDecision::deny("not logged in"));
//!     };
//!     Ok(match request.channel().kind() {
//!         ChannelKind::Presence => ChannelDecision::member(
//!             PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name })),
//!         ),
//!         _ => ChannelDecision::Allow,
//!     })
//! };
//! # fn check<A: Authorizer>(_: &A) {}
//! # check(&authorizer);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use pusher_protocol::{
    ChannelData, ChannelName, PresenceMember, SerializedUserData, SocketId, UserData,
};

use crate::request::Params;

/// A boxed error, the form every authorizer error is converted into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed, `Send` future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The HTTP request head an authorizer sees: method, URI, headers and extensions.
pub type RequestHead = http::request::Parts;

/// A presence membership, serialized once when the decision is made: the exact
/// `channel_data` that is signed and returned. Made by [`ChannelDecision::member`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    data: Result<ChannelData, Arc<str>>,
}

impl Member {
    /// The serialized `channel_data`, or why the member could not be serialized.
    pub fn channel_data(&self) -> Result<&ChannelData, &str> {
        match &self.data {
            Ok(data) => Ok(data),
            Err(e) => Err(e),
        }
    }
}

/// A signed-in user, serialized once when the decision is made: the exact `user_data` that is
/// signed and returned. Made by [`UserDecision::sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    data: Result<SerializedUserData, Arc<str>>,
}

impl SignedInUser {
    /// The serialized `user_data`, or why the user could not be serialized.
    pub fn user_data(&self) -> Result<&SerializedUserData, &str> {
        match &self.data {
            Ok(data) => Ok(data),
            Err(e) => Err(e),
        }
    }
}

/// What a channel authorizer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelDecision {
    /// May join this `private-` or `private-encrypted-` channel. For a presence channel this is
    /// a configuration error (a presence answer needs a member), answered with a 500
    /// `misconfigured` and an error log line; [`crate::routes::ChannelRoutes`] makes that
    /// mistake impossible (presence routes decide a [`crate::routes::Membership`]).
    Allow,
    /// May join this presence channel as this member (see [`ChannelDecision::member`]).
    Member(Member),
    /// May not join. The reason is logged, never sent to the client (who gets a 403).
    Deny(Cow<'static, str>),
    /// May join this presence channel as the user the connection signed in as
    /// (`pusher.signin()`): the answer carries no `channel_data`, and the Pusher server takes
    /// the member from the sign-in (pusher-js 7.4 and later). A connection that has not signed
    /// in is refused by the server, so use this only where sign-in is always on.
    SignedInMember,
    /// No opinion: channel routes try the next matching route; anywhere else it is a denial.
    Pass,
}

impl ChannelDecision {
    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        ChannelDecision::Deny(reason.into())
    }

    /// A presence membership with typed user information, serialized here, once.
    ///
    /// A member that cannot be serialized (user info that is not a JSON object, or larger than
    /// [`crate::MAX_USER_INFO_BYTES`]) is reported when the answer is signed: a 500 with a log
    /// line, since it is the app's mistake, not the client's.
    pub fn member<T: Serialize>(member: PresenceMember<T>) -> Self {
        ChannelDecision::Member(Member {
            data: member
                .to_channel_data()
                .map_err(|e| Arc::from(e.to_string())),
        })
    }

    /// A presence membership from `channel_data` already serialized and validated (for
    /// example by another SDK): signed and returned byte for byte.
    pub fn member_data(data: ChannelData) -> Self {
        ChannelDecision::Member(Member { data: Ok(data) })
    }

    /// `Allow` when `allowed`, else a denial with `reason`.
    pub fn allow_if(allowed: bool, reason: impl Into<Cow<'static, str>>) -> Self {
        if allowed {
            ChannelDecision::Allow
        } else {
            ChannelDecision::deny(reason)
        }
    }
}

/// What a user sign-in authorizer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserDecision {
    /// Signs the connection in as this user (see [`UserDecision::sign_in`]).
    SignIn(SignedInUser),
    /// Refuses. The reason is logged, never sent (the client gets a 403).
    Deny(Cow<'static, str>),
}

impl UserDecision {
    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        UserDecision::Deny(reason.into())
    }

    /// Signs in as `user`, serialized here, once (errors are reported as for
    /// [`ChannelDecision::member`]).
    pub fn sign_in<T: Serialize>(user: UserData<T>) -> Self {
        UserDecision::SignIn(SignedInUser {
            data: user.to_user_data().map_err(|e| Arc::from(e.to_string())),
        })
    }

    /// Signs in with `user_data` already serialized and validated: signed and returned byte
    /// for byte.
    pub fn sign_in_data(data: SerializedUserData) -> Self {
        UserDecision::SignIn(SignedInUser { data: Ok(data) })
    }
}

impl<T: Serialize> From<UserData<T>> for UserDecision {
    fn from(user: UserData<T>) -> Self {
        UserDecision::sign_in(user)
    }
}

impl<T: Serialize> From<Option<UserData<T>>> for UserDecision {
    /// `None` is a denial ("no user").
    fn from(user: Option<UserData<T>>) -> Self {
        match user {
            Some(user) => UserDecision::sign_in(user),
            None => UserDecision::deny("no user to sign in"),
        }
    }
}

/// What every channel of one HTTP request shares: the client's extra fields and the request
/// head.
pub(crate) struct Shared {
    params: Params,
    head: RequestHead,
}

/// A request to join one channel, validated. Cheap to clone (one reference count).
#[derive(Clone)]
pub struct ChannelRequest {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    socket_id: SocketId,
    channel: ChannelName,
    shared: Arc<Shared>,
}

impl ChannelRequest {
    /// A request, as an adapter (or a test) builds it.
    pub fn new(
        socket_id: SocketId,
        channel: ChannelName,
        params: Params,
        head: RequestHead,
    ) -> Self {
        Self::sharing(socket_id, channel, &Arc::new(Shared { params, head }))
    }

    /// One channel of a batch: the channels share the parameters and the head.
    pub(crate) fn sharing(socket_id: SocketId, channel: ChannelName, shared: &Arc<Shared>) -> Self {
        ChannelRequest {
            inner: Arc::new(ChannelInner {
                socket_id,
                channel,
                shared: Arc::clone(shared),
            }),
        }
    }

    /// What the channels of one request share.
    pub(crate) fn shared(params: Params, head: RequestHead) -> Arc<Shared> {
        Arc::new(Shared { params, head })
    }

    /// The connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.inner.socket_id
    }

    /// The channel asked for; [`ChannelName::kind`] tells its kind.
    pub fn channel(&self) -> &ChannelName {
        &self.inner.channel
    }

    /// The extra fields the client sent (pusher-js `params`).
    pub fn params(&self) -> &Params {
        &self.inner.shared.params
    }

    /// The HTTP request head.
    pub fn head(&self) -> &RequestHead {
        &self.inner.shared.head
    }

    /// The request headers (cookies, `Authorization`, `X-CSRF-Token`, …).
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head().headers
    }

    /// The request extensions, where session and login middleware leave the user.
    pub fn extensions(&self) -> &http::Extensions {
        &self.head().extensions
    }
}

impl fmt::Debug for ChannelRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRequest")
            .field("socket_id", self.socket_id())
            .field("channel", self.channel())
            .field("params", &self.params().len())
            .field("method", &self.head().method)
            .field("uri", &self.head().uri)
            .finish_non_exhaustive()
    }
}

/// A request to sign a connection in as a user, validated. Cheap to clone (one reference
/// count).
#[derive(Clone)]
pub struct UserRequest {
    inner: Arc<UserInner>,
}

struct UserInner {
    socket_id: SocketId,
    params: Params,
    head: RequestHead,
}

impl UserRequest {
    /// A request, as an adapter (or a test) builds it.
    pub fn new(socket_id: SocketId, params: Params, head: RequestHead) -> Self {
        UserRequest {
            inner: Arc::new(UserInner {
                socket_id,
                params,
                head,
            }),
        }
    }

    /// The connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.inner.socket_id
    }

    /// The extra fields the client sent.
    pub fn params(&self) -> &Params {
        &self.inner.params
    }

    /// The HTTP request head.
    pub fn head(&self) -> &RequestHead {
        &self.inner.head
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.inner.head.headers
    }

    /// The request extensions.
    pub fn extensions(&self) -> &http::Extensions {
        &self.inner.head.extensions
    }
}

impl fmt::Debug for UserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRequest")
            .field("socket_id", self.socket_id())
            .field("params", &self.params().len())
            .field("method", &self.head().method)
            .field("uri", &self.head().uri)
            .finish_non_exhaustive()
    }
}

/// Decides who may join which channel, and (optionally) who a connection signs in as.
///
/// Implement it with plain `async fn`s:
///
/// ```
/// use pusher_auth::authorizer::{Authorizer, ChannelDecision, ChannelRequest, UserDecision, UserRequest};
/// use pusher_auth::{UserData, UserId};
///
/// struct Staff;
///
/// impl Authorizer for Staff {
///     type Error = std::convert::Infallible;
///
///     async fn authorize_channel(&self, request: ChannelRequest) -> Result<ChannelDecision, Self::Error> {
///         let staff = request.headers().get("x-staff").is_some();
///         Ok(ChannelDecision::allow_if(staff, "not staff"))
///     }
///
///     async fn authenticate_user(&self, _request: UserRequest) -> Result<UserDecision, Self::Error> {
///         Ok(UserDecision::sign_in(UserData::new(UserId::from(7u64))))
///     }
///
///     // With `authenticate_user`: the sign-in endpoint is answered.
///     fn signs_in(&self) -> bool {
///         true
///     }
/// }
/// ```
///
/// A denial (`Ok(Deny)`) is a 403; an error (`Err`) is a 500 whose detail is logged and never
/// sent. Most apps do not implement this trait by hand: they write [`crate::routes`] that
/// receive their user type, and the adapter (axum extractor, actix-web extractor, request
/// extensions) supplies the user.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a pusher-auth `Authorizer`",
    label = "an `Authorizer` is needed here",
    note = "a closure authorizer takes a `ChannelRequest` and returns a future of `Result<ChannelDecision, E>`: `|request: ChannelRequest| async move {{ Ok::<_, Infallible>(ChannelDecision::Allow) }}`",
    note = "`ChannelRoutes<U>` is an `Authorizer` that reads `U` from the request extensions when `U: Clone + Send + Sync + 'static`",
    note = "with axum, an extractor that reads the router state (a session store, a database pool) needs `authorize_with_state(state, routes)`, and the state type must implement `FromRef` for what the extractor asks for"
)]
pub trait Authorizer: Send + Sync + 'static {
    /// The error type; any error converts into [`BoxError`].
    type Error: Into<BoxError> + Send + 'static;

    /// Decides a channel request.
    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send;

    /// Decides every channel of a pusher-js-auth batch (up to 100): each decision comes back
    /// paired with the request it decides, so the order does not matter, and a request left
    /// without a decision is refused (500).
    ///
    /// The default runs [`Authorizer::authorize_channel`] for each, at most `concurrency` at a
    /// time (see [`decide_all`]). Override it to do per-request work once, such as looking up
    /// the session a single time for the whole batch.
    fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> impl Future<Output = Vec<(ChannelRequest, Result<ChannelDecision, Self::Error>)>> + Send
    {
        decide_all(requests, concurrency, move |request| {
            self.authorize_channel(request)
        })
    }

    /// Decides a user sign-in request. The default denies every sign-in.
    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        let _ = request;
        async { Ok(UserDecision::deny("user sign-in is not configured")) }
    }

    /// Whether this authorizer signs users in: implement it (returning `true`) together with
    /// [`Authorizer::authenticate_user`]. When it is `false` (the default), the endpoints leave
    /// the sign-in path alone (the request goes on to the app, usually a 404) instead of
    /// answering 403 to every `pusher.signin()`. [`crate::routes::ChannelRoutes`] says `true`
    /// when it has a [`user`](crate::routes::ChannelRoutes::user) handler; wrappers forward it.
    fn signs_in(&self) -> bool {
        false
    }
}

/// Runs `decide` over `requests`, at most `concurrency` (at least 1) at a time, and returns
/// each answer paired with its request: the default of [`Authorizer::authorize_channels`],
/// public for authorizers that override it.
pub fn decide_all<F, Fut>(
    requests: Vec<ChannelRequest>,
    concurrency: usize,
    mut decide: F,
) -> impl Future<Output = Vec<(ChannelRequest, Fut::Output)>> + Send
where
    F: FnMut(ChannelRequest) -> Fut + Send,
    Fut: Future + Send,
    Fut::Output: Send,
{
    use futures_util::stream::{self, StreamExt};
    stream::iter(requests)
        .map(move |request| {
            let decided = decide(request.clone());
            async move { (request, decided.await) }
        })
        .buffered(concurrency.max(1))
        .collect::<Vec<_>>()
}

impl<F, Fut, E> Authorizer for F
where
    F: Fn(ChannelRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ChannelDecision, E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    type Error = E;

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, E>> + Send {
        self(request)
    }
}

/// Decides for a user that an adapter found once per HTTP request: an axum extractor
/// (`pusher_auth_axum::authorize_with`), an actix-web extractor, or the request extensions
/// ([`from_extensions`]).
///
/// [`ChannelRoutes<U>`](crate::routes::ChannelRoutes) is a policy for `U`, and so is a closure
/// `Fn(U, ChannelRequest) -> impl Future<Output = Result<ChannelDecision, E>>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a policy for the user type `{U}`",
    label = "expected a policy deciding for `{U}`",
    note = "a policy is `ChannelRoutes<{U}>`, or a closure `|user: {U}, request: ChannelRequest| async move {{ … }}` returning `Result<ChannelDecision, E>`"
)]
pub trait Policy<U>: Send + Sync + 'static {
    /// The error type.
    type Error: Into<BoxError> + Send + 'static;

    /// Decides a channel for `user`.
    fn authorize_channel(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send;

    /// Decides a sign-in for `user`. The default denies.
    fn authenticate_user(
        &self,
        user: U,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        let _ = (user, request);
        async { Ok(UserDecision::deny("user sign-in is not configured")) }
    }

    /// Whether this policy signs users in (see [`Authorizer::signs_in`]; `false` by default).
    fn signs_in(&self) -> bool {
        false
    }
}

impl<U, F, Fut, E> Policy<U> for F
where
    F: Fn(U, ChannelRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ChannelDecision, E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    type Error = E;

    fn authorize_channel(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, E>> + Send {
        self(user, request)
    }
}

/// An [`Authorizer`] that finds the user `U` in the request extensions (where session or login
/// middleware put it) and asks `policy`. A request without a `U` is denied, with a log line
/// naming the type. Made by [`from_extensions`].
pub struct FromExtensions<P, U> {
    policy: P,
    _user: PhantomData<fn() -> U>,
}

/// An [`Authorizer`] that finds the user `U` in the request extensions and asks `policy`
/// (a [`ChannelRoutes<U>`](crate::routes::ChannelRoutes) or a closure
/// `Fn(U, ChannelRequest)`). `ChannelRoutes<U>` does this by itself; this is for closures.
///
/// ```
/// use pusher_auth::authorizer::{from_extensions, ChannelDecision, ChannelRequest};
/// # fn check<A: pusher_auth::Authorizer>(_: &A) {}
///
/// #[derive(Clone)]
/// struct User { admin: bool } // inserted by your login middleware
///
/// let authorizer = from_extensions(|user: User, _request: ChannelRequest| async move {
///     Ok::<_, std::convert::Infallible>(ChannelDecision::allow_if(user.admin, "not an admin"))
/// });
/// # check(&authorizer);
/// ```
pub fn from_extensions<U, P: Policy<U>>(policy: P) -> FromExtensions<P, U> {
    FromExtensions {
        policy,
        _user: PhantomData,
    }
}

impl<P: Clone, U> Clone for FromExtensions<P, U> {
    fn clone(&self) -> Self {
        FromExtensions {
            policy: self.policy.clone(),
            _user: PhantomData,
        }
    }
}

impl<P, U> fmt::Debug for FromExtensions<P, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromExtensions")
            .field("user", &std::any::type_name::<U>())
            .finish_non_exhaustive()
    }
}

/// The reason logged when the user type is not in the extensions.
pub(crate) fn missing_extension<U>() -> String {
    format!(
        "no `{}` in the request extensions (add the login or session layer outside the pusher-auth layer, so it runs first)",
        std::any::type_name::<U>()
    )
}

impl<P, U> Authorizer for FromExtensions<P, U>
where
    P: Policy<U>,
    U: Clone + Send + Sync + 'static,
{
    type Error = P::Error;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, P::Error> {
        match request.extensions().get::<U>().cloned() {
            Some(user) => self.policy.authorize_channel(user, request).await,
            None => Ok(ChannelDecision::deny(missing_extension::<U>())),
        }
    }

    async fn authenticate_user(&self, request: UserRequest) -> Result<UserDecision, P::Error> {
        match request.extensions().get::<U>().cloned() {
            Some(user) => self.policy.authenticate_user(user, request).await,
            None => Ok(UserDecision::deny(missing_extension::<U>())),
        }
    }

    fn signs_in(&self) -> bool {
        self.policy.signs_in()
    }
}

/// An authorizer (or policy) with its channel and sign-in halves given separately: the channel
/// half any [`Authorizer`] (or [`Policy`]), the sign-in half a closure taking the
/// [`UserRequest`] (or the user and the request).
///
/// ```
/// use pusher_auth::authorizer::{with_user_auth, ChannelDecision, ChannelRequest, UserDecision, UserRequest};
/// use pusher_auth::{UserData, UserId};
/// use std::convert::Infallible;
///
/// let authorizer = with_user_auth(
///     |_req: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) },
///     |req: UserRequest| async move {
///         let id = req.params().get("user").and_then(|u| UserId::new(u).ok());
///         Ok::<_, Infallible>(match id {
///             Some(id) => UserDecision::sign_in(UserData::new(id)),
///             None => UserDecision::deny("no user"),
///         })
///     },
/// );
/// # fn check<A: pusher_auth::authorizer::Authorizer>(_: &A) {}
/// # check(&authorizer);
/// ```
pub fn with_user_auth<C, G>(channel: C, user: G) -> WithUserAuth<C, G> {
    WithUserAuth { channel, user }
}

/// See [`with_user_auth`].
#[derive(Clone, Debug)]
pub struct WithUserAuth<C, G> {
    channel: C,
    user: G,
}

impl<C, G, GFut> Authorizer for WithUserAuth<C, G>
where
    C: Authorizer,
    G: Fn(UserRequest) -> GFut + Send + Sync + 'static,
    GFut: Future<Output = Result<UserDecision, C::Error>> + Send,
{
    type Error = C::Error;

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send {
        self.channel.authorize_channel(request)
    }

    fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> impl Future<Output = Vec<(ChannelRequest, Result<ChannelDecision, Self::Error>)>> + Send
    {
        self.channel.authorize_channels(requests, concurrency)
    }

    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        (self.user)(request)
    }

    fn signs_in(&self) -> bool {
        true
    }
}

impl<U, C, G, GFut> Policy<U> for WithUserAuth<C, G>
where
    C: Policy<U>,
    G: Fn(U, UserRequest) -> GFut + Send + Sync + 'static,
    GFut: Future<Output = Result<UserDecision, C::Error>> + Send,
{
    type Error = C::Error;

    fn authorize_channel(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send {
        self.channel.authorize_channel(user, request)
    }

    fn authenticate_user(
        &self,
        user: U,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        (self.user)(user, request)
    }

    fn signs_in(&self) -> bool {
        true
    }
}

/// Object-safe form of [`Authorizer`], behind [`BoxAuthorizer`].
trait DynAuthorizer: Send + Sync {
    fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> BoxFuture<'_, Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)>>;
    fn signs_in(&self) -> bool;
    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> BoxFuture<'_, Result<ChannelDecision, BoxError>>;
    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> BoxFuture<'_, Result<UserDecision, BoxError>>;
}

impl<A: Authorizer> DynAuthorizer for A {
    fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> BoxFuture<'_, Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)>> {
        Box::pin(async move {
            Authorizer::authorize_channels(self, requests, concurrency)
                .await
                .into_iter()
                .map(|(request, decided)| (request, decided.map_err(Into::into)))
                .collect()
        })
    }

    fn signs_in(&self) -> bool {
        Authorizer::signs_in(self)
    }

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> BoxFuture<'_, Result<ChannelDecision, BoxError>> {
        Box::pin(async move {
            Authorizer::authorize_channel(self, request)
                .await
                .map_err(Into::into)
        })
    }

    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> BoxFuture<'_, Result<UserDecision, BoxError>> {
        Box::pin(async move {
            Authorizer::authenticate_user(self, request)
                .await
                .map_err(Into::into)
        })
    }
}

/// A type-erased authorizer, for apps that choose authorizers at run time.
///
/// ```
/// use pusher_auth::authorizer::{BoxAuthorizer, ChannelDecision, ChannelRequest};
/// use std::convert::Infallible;
///
/// let open = std::env::var("OPEN_CHANNELS").is_ok();
/// let authorizer = if open {
///     BoxAuthorizer::new(|_: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) })
/// } else {
///     BoxAuthorizer::new(|_: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::deny("closed")) })
/// };
/// ```
pub struct BoxAuthorizer {
    inner: Arc<dyn DynAuthorizer>,
}

impl Clone for BoxAuthorizer {
    fn clone(&self) -> Self {
        BoxAuthorizer {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl fmt::Debug for BoxAuthorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxAuthorizer")
    }
}

impl BoxAuthorizer {
    /// Erases `authorizer`'s type.
    pub fn new<A: Authorizer>(authorizer: A) -> Self {
        BoxAuthorizer {
            inner: Arc::new(authorizer),
        }
    }
}

impl Authorizer for BoxAuthorizer {
    type Error = BoxError;

    fn authorize_channels(
        &self,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> impl Future<Output = Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)>> + Send {
        self.inner.authorize_channels(requests, concurrency)
    }

    fn signs_in(&self) -> bool {
        self.inner.signs_in()
    }

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, BoxError>> + Send {
        self.inner.authorize_channel(request)
    }

    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, BoxError>> + Send {
        self.inner.authenticate_user(request)
    }
}
