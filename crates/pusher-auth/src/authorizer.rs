//! The [`Authorizer`] trait: who may join which channel.
//!
//! An authorizer decides for a user of the app's own type `U`, which the adapter finds once per
//! HTTP request (an axum extractor, an actix-web extractor, a Rocket guard, or the request
//! extensions of a plain tower stack) and hands over with the validated request. The same
//! authorizer works unchanged under every adapter. [`ChannelRoutes<U>`](crate::ChannelRoutes) is
//! the authorizer most apps use; a closure is one too:
//!
//! ```
//! use pusher_auth::authorizer::{Authorizer, ChannelDecision, ChannelRequest};
//! use pusher_auth::{ChannelKind, PresenceMember, UserId};
//!
//! /// Your logged-in user, as your session layer knows it.
//! #[derive(Clone)]
//! struct User { id: u64, name: String }
//!
//! let authorizer = |user: User, request: ChannelRequest| async move {
//!     Ok::<_, std::convert::Infallible>(match request.channel().kind() {
//!         ChannelKind::Presence => ChannelDecision::member(
//!             PresenceMember::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name })),
//!         ),
//!         _ => ChannelDecision::Allow,
//!     })
//! };
//! # fn check<A: Authorizer<User>>(_: &A) {}
//! # check(&authorizer);
//! ```
//!
//! An authorizer that needs no user decides for `()`: every adapter finds it without asking
//! anything of the request (`|(): (), request: ChannelRequest| …`).
//!
//! Whether a connection may sign in (`pusher.signin()`) is decided by a
//! [`Signin`](crate::signin::Signin) handler, given to the endpoints beside the authorizer.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use pusher_protocol::{ChannelData, ChannelName, PresenceMember, SignError, SocketId};

use crate::request::Params;

/// A boxed error, the form every authorizer error is converted into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed, `Send` future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The HTTP request head an authorizer sees: method, URI, headers and extensions.
pub type RequestHead = http::request::Parts;

/// A presence membership, serialized once when the decision is made: the exact
/// `channel_data` that is signed and returned. Made by [`ChannelDecision::member`].
#[derive(Debug, Clone)]
pub struct Member {
    data: Result<ChannelData, Arc<SignError>>,
}

impl Member {
    /// Serializes `member`, once.
    pub(crate) fn serialize<T: Serialize>(member: PresenceMember<T>) -> Self {
        Member {
            data: member.to_channel_data().map_err(Arc::new),
        }
    }

    /// The serialized `channel_data`, or why the member could not be serialized (user info that
    /// is not a JSON object, or larger than [`crate::MAX_USER_INFO_BYTES`]).
    pub fn channel_data(&self) -> Result<&ChannelData, &SignError> {
        self.data.as_ref().map_err(|e| &**e)
    }
}

impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        match (&self.data, &other.data) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Eq for Member {}

/// An error that is the app's own mistake, not a failure of its backend: a route whose handler
/// cannot take its parameters, a decision the protocol cannot sign. Returned by an authorizer
/// (or wrapped in its error), it is answered 500 `misconfigured` instead of `authorizer_error`,
/// and logged at `ERROR` either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Misconfigured(Cow<'static, str>);

impl Misconfigured {
    /// A misconfiguration, with what to fix.
    pub fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        Misconfigured(reason.into())
    }
}

/// What an authorizer decides for one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelDecision {
    /// May join this `private-` or `private-encrypted-` channel. For a presence channel this is
    /// a mistake in the app (a presence answer needs a member), answered with a 500
    /// `misconfigured` and an `ERROR` line; [`ChannelRoutes`](crate::ChannelRoutes) makes it
    /// impossible (presence routes decide a [`Membership`](crate::routes::Membership)).
    Allow,
    /// May join this presence channel as this member (see [`ChannelDecision::member`]).
    Member(Member),
    /// May not join. The reason is logged at `DEBUG`, never sent (the client gets a 403).
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
    /// [`crate::MAX_USER_INFO_BYTES`]) is reported when the answer is signed: a 500
    /// `misconfigured` with an `ERROR` line, since it is the app's mistake, not the client's.
    pub fn member<T: Serialize>(member: PresenceMember<T>) -> Self {
        ChannelDecision::Member(Member::serialize(member))
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

/// What every channel of one HTTP request shares: the client's extra fields and the request
/// head.
struct Shared {
    params: Params,
    head: RequestHead,
}

/// A request to join one channel, validated. Cheap to clone (one reference count).
///
/// The channels of a pusher-js-auth batch share one request head and one set of parameters.
#[derive(Clone)]
pub struct ChannelRequest {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    socket_id: SocketId,
    channel: ChannelName,
    shared: SharedRef,
}

/// A single request owns its head (in the request's one allocation); the channels of a batch
/// share one.
#[allow(clippy::large_enum_variant)]
enum SharedRef {
    Own(Shared),
    Batch(Arc<Shared>),
}

impl SharedRef {
    fn get(&self) -> &Shared {
        match self {
            SharedRef::Own(shared) => shared,
            SharedRef::Batch(shared) => shared,
        }
    }
}

impl ChannelRequest {
    /// A request, as an adapter or a test builds it.
    ///
    /// ```
    /// use pusher_auth::authorizer::ChannelRequest;
    /// use pusher_auth::Params;
    ///
    /// let (head, ()) = http::Request::post("/pusher/auth").body(())?.into_parts();
    /// let request = ChannelRequest::new("1.2".parse()?, "private-chat".parse()?, Params::default(), head);
    /// assert_eq!(request.channel().as_str(), "private-chat");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        socket_id: SocketId,
        channel: ChannelName,
        params: Params,
        head: RequestHead,
    ) -> Self {
        ChannelRequest {
            inner: Arc::new(ChannelInner {
                socket_id,
                channel,
                shared: SharedRef::Own(Shared { params, head }),
            }),
        }
    }

    /// One request per channel of a batch, sharing the parameters and the head.
    pub(crate) fn batch(
        socket_id: SocketId,
        params: Params,
        head: RequestHead,
        channels: impl IntoIterator<Item = ChannelName>,
    ) -> Vec<Self> {
        let shared = Arc::new(Shared { params, head });
        channels
            .into_iter()
            .map(|channel| ChannelRequest {
                inner: Arc::new(ChannelInner {
                    socket_id: socket_id.clone(),
                    channel,
                    shared: SharedRef::Batch(Arc::clone(&shared)),
                }),
            })
            .collect()
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
        &self.inner.shared.get().params
    }

    /// The HTTP request head.
    pub fn head(&self) -> &RequestHead {
        &self.inner.shared.get().head
    }

    /// The request headers (cookies, `Authorization`, `X-CSRF-Token`, …).
    pub fn headers(&self) -> &http::HeaderMap {
        &self.head().headers
    }

    /// The request extensions (under a tower stack, what middleware put there).
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

/// Decides who may join which channel, for the app's user type `U`.
///
/// `U` is whatever the adapter finds once per HTTP request (see the adapter's docs); `()` for
/// an authorizer that needs no user. Implement it with plain `async fn`s:
///
/// ```
/// use pusher_auth::authorizer::{Authorizer, ChannelDecision, ChannelRequest};
///
/// #[derive(Clone)]
/// struct User { staff: bool }
///
/// /// Staff may join every private channel.
/// struct StaffOnly;
///
/// impl Authorizer<User> for StaffOnly {
///     type Error = std::convert::Infallible;
///
///     async fn authorize(&self, user: User, _request: ChannelRequest) -> Result<ChannelDecision, Self::Error> {
///         Ok(ChannelDecision::allow_if(user.staff, "not staff"))
///     }
/// }
/// ```
///
/// Closures `Fn(U, ChannelRequest) -> impl Future<Output = Result<ChannelDecision, E>>` are
/// authorizers, and [`BoxAuthorizer`] erases the type where authorizers are chosen at run time.
///
/// A denial is not a failure: [`ChannelDecision::Deny`] answers 403 (logged at `DEBUG`), an
/// `Err` answers 500 `authorizer_error` (logged at `ERROR`, never sent).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an authorizer for the user type `{U}`",
    label = "expected an authorizer deciding for `{U}`",
    note = "an authorizer is `ChannelRoutes<{U}>`, or a closure `|user: {U}, request: ChannelRequest| async move {{ … }}` returning `Result<ChannelDecision, E>`",
    note = "an authorizer that needs no user decides for `()`: `|(): (), request: ChannelRequest| async move {{ … }}`"
)]
pub trait Authorizer<U>: Send + Sync + 'static {
    /// The error type; any error converts into [`BoxError`].
    type Error: Into<BoxError> + Send + 'static;

    /// Decides one channel for `user`.
    fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, Self::Error>> + Send;

    /// Decides every channel of a pusher-js-auth batch (up to 100) for `user`: each decision
    /// comes back paired with the request it decides, so the order does not matter, and a
    /// request left without a decision is answered 500.
    ///
    /// The default runs [`Authorizer::authorize`] for each, at most `concurrency` at a time
    /// (see [`decide_all`]). Override it to do per-request work once, such as loading the
    /// user's rooms a single time for the whole batch.
    fn authorize_batch(
        &self,
        user: U,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> impl Future<Output = Vec<(ChannelRequest, Result<ChannelDecision, Self::Error>)>> + Send
    where
        U: Clone + Send,
    {
        decide_all(requests, concurrency, move |request| {
            self.authorize(user.clone(), request)
        })
    }
}

/// Runs `decide` over `requests`, at most `concurrency` (at least 1) at a time, and returns
/// each answer paired with its request: the default of [`Authorizer::authorize_batch`], public
/// for authorizers that override it.
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

impl<U, F, Fut, E> Authorizer<U> for F
where
    F: Fn(U, ChannelRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ChannelDecision, E>> + Send,
    E: Into<BoxError> + Send + 'static,
{
    type Error = E;

    fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, E>> + Send {
        self(user, request)
    }
}

/// A batch's decisions, paired with their requests.
pub(crate) type Decisions = Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)>;

/// Object-safe form of [`Authorizer`], behind [`BoxAuthorizer`] and the endpoints.
pub(crate) trait DynAuthorizer<U>: Send + Sync {
    fn authorize_dyn(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> BoxFuture<'_, Result<ChannelDecision, BoxError>>;

    fn authorize_batch_dyn(
        &self,
        user: U,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> BoxFuture<'_, Decisions>;

    /// The authorizer as `Any`, for the checks the endpoints make when they are built.
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<U, A> DynAuthorizer<U> for A
where
    A: Authorizer<U>,
    U: Clone + Send + 'static,
{
    fn authorize_dyn(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> BoxFuture<'_, Result<ChannelDecision, BoxError>> {
        Box::pin(async move { self.authorize(user, request).await.map_err(Into::into) })
    }

    fn authorize_batch_dyn(
        &self,
        user: U,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> BoxFuture<'_, Decisions> {
        Box::pin(async move {
            self.authorize_batch(user, requests, concurrency)
                .await
                .into_iter()
                .map(|(request, decided)| (request, decided.map_err(Into::into)))
                .collect()
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A type-erased authorizer for the user type `U`, for apps that choose authorizers at run
/// time. Cheap to clone (one reference count).
///
/// ```
/// use pusher_auth::authorizer::{BoxAuthorizer, ChannelDecision, ChannelRequest};
/// use std::convert::Infallible;
///
/// let open = std::env::var("OPEN_CHANNELS").is_ok();
/// let authorizer: BoxAuthorizer<()> = if open {
///     BoxAuthorizer::new(|(): (), _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::Allow) })
/// } else {
///     BoxAuthorizer::new(|(): (), _: ChannelRequest| async { Ok::<_, Infallible>(ChannelDecision::deny("closed")) })
/// };
/// # let _ = authorizer;
/// ```
pub struct BoxAuthorizer<U> {
    inner: Arc<dyn DynAuthorizer<U>>,
}

impl<U> Clone for BoxAuthorizer<U> {
    fn clone(&self) -> Self {
        BoxAuthorizer {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<U> fmt::Debug for BoxAuthorizer<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxAuthorizer")
            .field("user", &std::any::type_name::<U>())
            .finish_non_exhaustive()
    }
}

impl<U: Clone + Send + 'static> BoxAuthorizer<U> {
    /// Erases `authorizer`'s type.
    pub fn new<A: Authorizer<U>>(authorizer: A) -> Self {
        // An authorizer boxed twice is boxed once.
        if let Some(boxed) = (&authorizer as &dyn std::any::Any).downcast_ref::<Self>() {
            return boxed.clone();
        }
        BoxAuthorizer {
            inner: Arc::new(authorizer),
        }
    }

    /// The authorizer inside, as `Any` (the endpoints look for channel routes there).
    pub(crate) fn as_any(&self) -> &dyn std::any::Any {
        self.inner.as_any()
    }
}

impl<U: Clone + Send + Sync + 'static> Authorizer<U> for BoxAuthorizer<U> {
    type Error = BoxError;

    fn authorize(
        &self,
        user: U,
        request: ChannelRequest,
    ) -> impl Future<Output = Result<ChannelDecision, BoxError>> + Send {
        self.inner.authorize_dyn(user, request)
    }

    fn authorize_batch(
        &self,
        user: U,
        requests: Vec<ChannelRequest>,
        concurrency: usize,
    ) -> impl Future<Output = Vec<(ChannelRequest, Result<ChannelDecision, BoxError>)>> + Send
    where
        U: Clone + Send,
    {
        self.inner.authorize_batch_dyn(user, requests, concurrency)
    }
}
