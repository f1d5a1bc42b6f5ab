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
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use crate::credentials::Credentials;
use crate::names::{ChannelName, SocketId, UserId};
use crate::request::Params;
use crate::sign::{ChannelAuth, PresenceMember, SignError, UserAuth, UserData};

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
    user_id: UserId,
    channel_data: Result<String, Arc<str>>,
}

impl Member {
    /// The member's user id.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The serialized `channel_data`, or why the member could not be serialized.
    pub fn channel_data(&self) -> Result<&str, &str> {
        match &self.channel_data {
            Ok(data) => Ok(data),
            Err(e) => Err(e),
        }
    }
}

/// A signed-in user, serialized once when the decision is made: the exact `user_data` that is
/// signed and returned. Made by [`UserDecision::sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser {
    id: UserId,
    user_data: Result<String, Arc<str>>,
}

impl SignedInUser {
    /// The user's id.
    pub fn id(&self) -> &UserId {
        &self.id
    }

    /// The serialized `user_data`, or why the user could not be serialized.
    pub fn user_data(&self) -> Result<&str, &str> {
        match &self.user_data {
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
    /// a configuration error (a presence answer needs a member), answered with a 500 and a log
    /// line.
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
        let channel_data = member
            .to_channel_data()
            .map_err(|e| Arc::from(e.to_string()));
        ChannelDecision::Member(Member {
            user_id: member.user_id().clone(),
            channel_data,
        })
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
        let user_data = user.to_user_data().map_err(|e| Arc::from(e.to_string()));
        UserDecision::SignIn(SignedInUser {
            id: user.id().clone(),
            user_data,
        })
    }
}

impl Credentials {
    /// Signs a presence answer for a [`Member`] decided by an authorizer.
    pub fn authorize_member(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
        member: &Member,
    ) -> Result<ChannelAuth, SignError> {
        crate::sign::check_presence(channel)?;
        let data = member
            .channel_data()
            .map_err(|e| SignError::InvalidDecision(e.to_string()))?;
        Ok(self.sign_presence(socket_id, channel, data.to_string()))
    }

    /// Signs a presence answer without `channel_data`, for a connection that signed in
    /// (see [`ChannelDecision::SignedInMember`]): `SOCKET_ID:CHANNEL` only.
    pub fn authorize_signed_in_member(
        &self,
        socket_id: &SocketId,
        channel: &ChannelName,
    ) -> Result<ChannelAuth, SignError> {
        crate::sign::check_presence(channel)?;
        Ok(self.sign_plain(socket_id, channel))
    }

    /// Signs a sign-in answer for a [`SignedInUser`] decided by an authorizer.
    pub fn sign_in(
        &self,
        socket_id: &SocketId,
        user: &SignedInUser,
    ) -> Result<UserAuth, SignError> {
        let data = user
            .user_data()
            .map_err(|e| SignError::InvalidDecision(e.to_string()))?;
        Ok(self.sign_user_data(socket_id, data.to_string()))
    }
}

/// A request to join one channel, validated.
#[derive(Clone)]
pub struct ChannelRequest {
    socket_id: SocketId,
    channel: ChannelName,
    params: Arc<Params>,
    head: Arc<RequestHead>,
}

impl ChannelRequest {
    /// A request, as an adapter builds it.
    pub fn new(
        socket_id: SocketId,
        channel: ChannelName,
        params: Arc<Params>,
        head: Arc<RequestHead>,
    ) -> Self {
        ChannelRequest {
            socket_id,
            channel,
            params,
            head,
        }
    }

    /// The connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.socket_id
    }

    /// The channel asked for; [`ChannelName::kind`] tells its kind.
    pub fn channel(&self) -> &ChannelName {
        &self.channel
    }

    /// The extra fields the client sent (pusher-js `params`).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The HTTP request head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The request headers (cookies, `Authorization`, `X-CSRF-Token`, …).
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The request extensions, where session and login middleware leave the user.
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }
}

impl fmt::Debug for ChannelRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelRequest")
            .field("socket_id", &self.socket_id)
            .field("channel", &self.channel)
            .field("params", &self.params.len())
            .field("method", &self.head.method)
            .field("uri", &self.head.uri)
            .finish_non_exhaustive()
    }
}

/// A request to sign a connection in as a user, validated.
#[derive(Clone)]
pub struct UserRequest {
    socket_id: SocketId,
    params: Arc<Params>,
    head: Arc<RequestHead>,
}

impl UserRequest {
    /// A request, as an adapter builds it.
    pub fn new(socket_id: SocketId, params: Arc<Params>, head: Arc<RequestHead>) -> Self {
        UserRequest {
            socket_id,
            params,
            head,
        }
    }

    /// The connection's socket id.
    pub fn socket_id(&self) -> &SocketId {
        &self.socket_id
    }

    /// The extra fields the client sent.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The HTTP request head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The request headers.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head.headers
    }

    /// The request extensions.
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }
}

impl fmt::Debug for UserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRequest")
            .field("socket_id", &self.socket_id)
            .field("params", &self.params.len())
            .field("method", &self.head.method)
            .field("uri", &self.head.uri)
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
/// #[derive(Clone)]
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
/// }
/// ```
///
/// A denial (`Ok(Deny)`) is a 403; an error (`Err`) is a 500 whose detail is logged and never
/// sent.
pub trait Authorizer: Clone + Send + Sync + 'static {
    /// The error type; any error converts into [`BoxError`].
    type Error: Into<BoxError> + Send + 'static;

    /// Decides a channel request.
    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send;

    /// Decides a user sign-in request. The default denies every sign-in.
    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        let _ = request;
        async { Ok(UserDecision::deny("user sign-in is not configured")) }
    }
}

impl<F, Fut, E> Authorizer for F
where
    F: Fn(ChannelRequest) -> Fut + Clone + Send + Sync + 'static,
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

/// An authorizer with its channel and sign-in halves given as two closures.
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
pub fn with_user_auth<C, U>(channel: C, user: U) -> WithUserAuth<C, U> {
    WithUserAuth { channel, user }
}

/// See [`with_user_auth`].
#[derive(Clone, Debug)]
pub struct WithUserAuth<C, U> {
    channel: C,
    user: U,
}

impl<C, U, UFut> Authorizer for WithUserAuth<C, U>
where
    C: Authorizer,
    U: Fn(UserRequest) -> UFut + Clone + Send + Sync + 'static,
    UFut: Future<Output = Result<UserDecision, C::Error>> + Send,
{
    type Error = C::Error;

    fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send {
        self.channel.authorize_channel(request)
    }

    fn authenticate_user(
        &self,
        request: UserRequest,
    ) -> impl Future<Output = Result<UserDecision, Self::Error>> + Send {
        (self.user)(request)
    }
}

/// Object-safe form of [`Authorizer`], behind [`BoxAuthorizer`].
trait DynAuthorizer: Send + Sync {
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

/// An authorizer that allows every private and encrypted channel and denies presence channels
/// and sign-in: for tests and benchmarks, never for production.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowPrivate;

impl Authorizer for AllowPrivate {
    type Error = Infallible;

    async fn authorize_channel(
        &self,
        request: ChannelRequest,
    ) -> Result<ChannelDecision, Infallible> {
        Ok(match request.channel().kind() {
            crate::ChannelKind::Presence => {
                ChannelDecision::deny("AllowPrivate does not admit presence members")
            }
            _ => ChannelDecision::Allow,
        })
    }
}
