//! Sign-in (`pusher.signin()`): who a connection is.
//!
//! pusher-js asks the app to sign a connection in as a user (the Pusher docs call it "user
//! authentication"); the signed-in user can then be sent events directly, have its connections
//! terminated, and be a presence member without `channel_data`. A [`Signin`] handler decides,
//! for the same user type `U` the [`Authorizer`](crate::Authorizer) decides for. Giving the
//! endpoints a handler ([`Endpoints::with_signin`](crate::Endpoints::with_signin)) is what makes
//! them answer the sign-in path; without one, that path is left to the app.
//!
//! ```
//! use pusher_auth::signin::{Signin, SigninRequest};
//! use pusher_auth::{UserData, UserId};
//!
//! #[derive(Clone)]
//! struct User { id: u64, name: String }
//!
//! // A closure is a handler; `None` refuses (403).
//! let signin = |user: User, _request: SigninRequest| async move {
//!     Some(UserData::new(UserId::from(user.id)).with_info(serde_json::json!({ "name": user.name })))
//! };
//! # fn check<S: Signin<User>>(_: &S) {}
//! # check(&signin);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use pusher_protocol::{SerializedUserData, SignError, SocketId, UserData};

use crate::authorizer::{BoxError, BoxFuture, RequestHead};
use crate::request::Params;
use crate::routes::IntoDecision;

/// A signed-in user, serialized once when the decision is made: the exact `user_data` that is
/// signed and returned. Made by [`SigninDecision::user`].
#[derive(Debug, Clone)]
pub struct SignedInUser {
    data: Result<SerializedUserData, Arc<SignError>>,
}

impl SignedInUser {
    /// The serialized `user_data`, or why the user could not be serialized.
    pub fn user_data(&self) -> Result<&SerializedUserData, &SignError> {
        self.data.as_ref().map_err(|e| &**e)
    }
}

impl PartialEq for SignedInUser {
    fn eq(&self, other: &Self) -> bool {
        match (&self.data, &other.data) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

impl Eq for SignedInUser {}

/// What a sign-in handler decides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigninDecision {
    /// Signs the connection in as this user (see [`SigninDecision::user`]).
    User(SignedInUser),
    /// Refuses. The reason is logged at `DEBUG`, never sent (the client gets a 403).
    Deny(Cow<'static, str>),
}

impl SigninDecision {
    /// Signs in as `user`, serialized here, once. A user that cannot be serialized (user info
    /// that is not a JSON object, a watchlist over 100 ids) is answered 500 `misconfigured`
    /// with an `ERROR` line: the app's mistake, not the client's.
    pub fn user<T: Serialize>(user: UserData<T>) -> Self {
        SigninDecision::User(SignedInUser {
            data: user.to_user_data().map_err(Arc::new),
        })
    }

    /// Signs in with `user_data` already serialized and validated: signed and returned byte
    /// for byte.
    pub fn user_data(data: SerializedUserData) -> Self {
        SigninDecision::User(SignedInUser { data: Ok(data) })
    }

    /// A denial with a reason for the logs.
    pub fn deny(reason: impl Into<Cow<'static, str>>) -> Self {
        SigninDecision::Deny(reason.into())
    }
}

impl<T: Serialize> From<UserData<T>> for SigninDecision {
    fn from(user: UserData<T>) -> Self {
        SigninDecision::user(user)
    }
}

impl<T: Serialize> From<Option<UserData<T>>> for SigninDecision {
    /// `None` is a denial.
    fn from(user: Option<UserData<T>>) -> Self {
        match user {
            Some(user) => SigninDecision::user(user),
            None => SigninDecision::deny("the sign-in handler returned no user"),
        }
    }
}

/// A request to sign a connection in, validated. Cheap to clone (one reference count).
#[derive(Clone)]
pub struct SigninRequest {
    inner: Arc<Inner>,
}

struct Inner {
    socket_id: SocketId,
    params: Params,
    head: RequestHead,
}

impl SigninRequest {
    /// A request, as an adapter or a test builds it.
    pub fn new(socket_id: SocketId, params: Params, head: RequestHead) -> Self {
        SigninRequest {
            inner: Arc::new(Inner {
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

    /// The extra fields the client sent (pusher-js `userAuthentication.params`).
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

impl fmt::Debug for SigninRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigninRequest")
            .field("socket_id", self.socket_id())
            .field("params", &self.params().len())
            .field("method", &self.head().method)
            .field("uri", &self.head().uri)
            .finish_non_exhaustive()
    }
}

/// Decides whether a connection signs in, and as whom, for the app's user type `U`.
///
/// Closures `Fn(U, SigninRequest) -> impl Future` are handlers when the future resolves to a
/// [`SigninDecision`], a `UserData<T>`, an `Option<UserData<T>>` (`None` refuses), or a
/// `Result` of those (an `Err` answers 500 `authorizer_error`, logged at `ERROR`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sign-in handler for the user type `{U}`",
    label = "expected a sign-in handler for `{U}`",
    note = "a sign-in handler is a closure `|user: {U}, request: SigninRequest| async move {{ … }}` returning `UserData<T>`, `Option<UserData<T>>`, `SigninDecision`, or a `Result` of one of them"
)]
pub trait Signin<U>: Send + Sync + 'static {
    /// The error type; any error converts into [`BoxError`].
    type Error: Into<BoxError> + Send + 'static;

    /// Decides a sign-in for `user`.
    fn signin(
        &self,
        user: U,
        request: SigninRequest,
    ) -> impl Future<Output = Result<SigninDecision, Self::Error>> + Send;
}

impl<U, F, Fut> Signin<U> for F
where
    U: Send,
    F: Fn(U, SigninRequest) -> Fut + Send + Sync + 'static,
    Fut: Future + Send,
    Fut::Output: IntoDecision<SigninDecision>,
{
    type Error = BoxError;

    async fn signin(&self, user: U, request: SigninRequest) -> Result<SigninDecision, BoxError> {
        self(user, request).await.into_decision()
    }
}

/// Object-safe form of [`Signin`], behind the endpoints.
pub(crate) trait DynSignin<U>: Send + Sync {
    fn signin_dyn(
        &self,
        user: U,
        request: SigninRequest,
    ) -> BoxFuture<'_, Result<SigninDecision, BoxError>>;
}

impl<U: Send + 'static, S: Signin<U>> DynSignin<U> for S {
    fn signin_dyn(
        &self,
        user: U,
        request: SigninRequest,
    ) -> BoxFuture<'_, Result<SigninDecision, BoxError>> {
        Box::pin(async move { self.signin(user, request).await.map_err(Into::into) })
    }
}
