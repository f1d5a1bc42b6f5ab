//! [`Endpoints`]: the auth endpoints of one app, configured once for every adapter.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use pusher_protocol::Credentials;

use crate::authorizer::{Authorizer, BoxAuthorizer, DynAuthorizer};
use crate::log::LogLimits;
use crate::request::Limits;
use crate::routes::ChannelRoutes;
use crate::signin::{DynSignin, Signin};
use crate::webhook::{DynWebhookHandler, WebhookHandler, WebhookVerifier};

/// The default body limit of the channel and sign-in endpoints: 16 KiB, room for a batch of
/// 100 long channel names.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The default body limit of the webhook endpoint: 512 KiB. Pusher batches webhook events, and
/// one client event alone may carry 10 KB of data; a webhook refused for its size is retried
/// until Pusher gives up, losing every event in it.
pub const DEFAULT_WEBHOOK_BODY_LIMIT: usize = 512 * 1024;

/// The paths pusher-js uses when none are configured: channel authorization, sign-in.
pub const PUSHER_JS_PATHS: (&str, &str) = ("/pusher/auth", "/pusher/user-auth");

/// The paths Laravel Echo configures pusher-js with (`authEndpoint` and
/// `userAuthentication.endpoint`).
pub const LARAVEL_ECHO_PATHS: (&str, &str) = ("/broadcasting/auth", "/broadcasting/user-auth");

/// The auth endpoints of one app: its credentials, the [`Authorizer`] that decides channels
/// for the app's user type `U`, the optional [`Signin`] handler, the paths, limits and the
/// optional webhook handler. Configure them once and hand them to your framework's adapter
/// (`pusher-auth-axum`, `pusher-auth-actix-web`, `pusher-auth-rocket`, `pusher-auth-tower`):
/// every adapter answers the same paths with the same statuses, codes and JSON bytes.
///
/// ```
/// use pusher_auth::{ChannelRoutes, Credentials, Endpoints, SigninRequest, UserData, UserId};
///
/// #[derive(Clone)]
/// struct User { id: u64 }
///
/// let routes = ChannelRoutes::new()
///     .private("orders.{id}", |user: User, order: u64| async move { order / 1000 == user.id });
/// let endpoints = Endpoints::new(Credentials::new("app-key", "app-secret")?, routes)
///     // pusher.signin(): answered because there is a handler.
///     .with_signin(|user: User, _: SigninRequest| async move { UserData::new(UserId::from(user.id)) })
///     .for_laravel_echo();
/// assert_eq!(endpoints.channel_path(), "/broadcasting/auth");
/// assert_eq!(endpoints.signin_path(), Some("/broadcasting/user-auth"));
/// # Ok::<(), pusher_auth::ConfigError>(())
/// ```
///
/// Defaults: channels at `POST /pusher/auth`; sign-in at `POST /pusher/user-auth` once a
/// handler is given (the pusher-js defaults); no webhooks; [`DEFAULT_BODY_LIMIT`],
/// [`DEFAULT_WEBHOOK_BODY_LIMIT`] and [`Limits::default`]. Cheap to clone (one reference
/// count).
pub struct Endpoints<U> {
    pub(crate) inner: Arc<Config<U>>,
}

pub(crate) struct Config<U> {
    pub(crate) credentials: Credentials,
    pub(crate) authorizer: Arc<dyn DynAuthorizer<U>>,
    pub(crate) signin: Option<Arc<dyn DynSignin<U>>>,
    pub(crate) paths: Paths,
    pub(crate) limits: Limits,
    pub(crate) body_limit: usize,
    pub(crate) webhook_body_limit: usize,
    pub(crate) webhooks: Option<Arc<Webhooks>>,
    /// Misconfiguration lines that a client can cause, at most one a minute of each kind.
    pub(crate) log_limits: Arc<LogLimits>,
}

pub(crate) struct Webhooks {
    pub(crate) verifier: WebhookVerifier,
    pub(crate) handler: Arc<dyn DynWebhookHandler>,
}

#[derive(Clone)]
pub(crate) struct Paths {
    pub(crate) channel: Cow<'static, str>,
    pub(crate) signin: Cow<'static, str>,
    pub(crate) webhook: Option<Cow<'static, str>>,
}

impl<U> Clone for Config<U> {
    fn clone(&self) -> Self {
        Config {
            credentials: self.credentials.clone(),
            authorizer: Arc::clone(&self.authorizer),
            signin: self.signin.clone(),
            paths: self.paths.clone(),
            limits: self.limits,
            body_limit: self.body_limit,
            webhook_body_limit: self.webhook_body_limit,
            webhooks: self.webhooks.clone(),
            log_limits: Arc::clone(&self.log_limits),
        }
    }
}

impl<U> Clone for Endpoints<U> {
    fn clone(&self) -> Self {
        Endpoints {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<U> fmt::Debug for Endpoints<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("user", &std::any::type_name::<U>())
            .field("credentials", &self.inner.credentials)
            .field("channel_path", &self.channel_path())
            .field("signin_path", &self.signin_path())
            .field("webhook_path", &self.webhook_path())
            .field("limits", &self.inner.limits)
            .field("body_limit", &self.inner.body_limit)
            .field("webhook_body_limit", &self.inner.webhook_body_limit)
            .finish_non_exhaustive()
    }
}

/// Checks a configured path: absolute, and plain (what every adapter's router takes
/// literally: no query, no spaces, no route-pattern characters).
#[track_caller]
#[allow(clippy::panic)]
fn check_path(path: &str, what: &str) {
    if !path.starts_with('/') {
        panic!("pusher-auth: the {what} path `{path}` must start with `/`");
    }
    // Every framework must read the path the same way: no pattern syntax, and nothing a
    // router would decode or collapse first (`%XX`, non-ASCII, empty segments).
    if path.contains(['?', '#', '{', '}', '*', ':', '<', '>', '%'])
        || path.contains("//")
        || path.bytes().any(|b| !b.is_ascii_graphic())
    {
        panic!("pusher-auth: the {what} path `{path}` must be a plain path (ASCII, no query, fragment, spaces, percent-encoding, empty segments or route-pattern characters)");
    }
}

/// Refuses channel routes that grant encrypted channels when there is no master key.
#[track_caller]
#[allow(clippy::panic)]
fn check_encrypted<U: Clone + Send + Sync + 'static>(
    credentials: &Credentials,
    authorizer: &dyn std::any::Any,
) {
    if credentials.has_encryption_master_key() {
        return;
    }
    let routes = authorizer.downcast_ref::<ChannelRoutes<U>>().or_else(|| {
        authorizer
            .downcast_ref::<BoxAuthorizer<U>>()
            .and_then(|boxed| boxed.as_any().downcast_ref::<ChannelRoutes<U>>())
    });
    if let Some((pattern, method)) = routes.and_then(|r| r.encrypted_routes().next()) {
        panic!(
            "pusher-auth: the channel route `.{method}(\"{pattern}\", …)` grants private-encrypted- channels, but the credentials have no encryption master key: set one (PUSHER_ENCRYPTION_MASTER_KEY_BASE64, or Credentials::with_encryption_master_key_base64), or register the route with `.private(…)` if it is meant for private- channels only"
        );
    }
}

impl<U: Clone + Send + Sync + 'static> Endpoints<U> {
    /// Endpoints signing with `credentials` and deciding channels with `authorizer`, with the
    /// defaults above.
    ///
    /// # Panics
    ///
    /// When `authorizer` is [`ChannelRoutes`] with a route that grants `private-encrypted-`
    /// channels ([`channel`](ChannelRoutes::channel) or [`encrypted`](ChannelRoutes::encrypted))
    /// and `credentials` have no encryption master key: that app could never answer those
    /// channels. (Any other authorizer that grants an encrypted channel without a master key is
    /// answered 500 `misconfigured`, with an `ERROR` line.)
    #[track_caller]
    pub fn new<A: Authorizer<U>>(credentials: Credentials, authorizer: A) -> Self {
        check_encrypted::<U>(&credentials, &authorizer);
        Endpoints {
            inner: Arc::new(Config {
                credentials,
                authorizer: Arc::new(authorizer),
                signin: None,
                paths: Paths {
                    channel: Cow::Borrowed(PUSHER_JS_PATHS.0),
                    signin: Cow::Borrowed(PUSHER_JS_PATHS.1),
                    webhook: None,
                },
                limits: Limits::default(),
                body_limit: DEFAULT_BODY_LIMIT,
                webhook_body_limit: DEFAULT_WEBHOOK_BODY_LIMIT,
                webhooks: None,
                log_limits: Arc::new(LogLimits::new()),
            }),
        }
    }

    /// Answers sign-in (`pusher.signin()`) with `handler`, for the same user type as the
    /// authorizer. Without a handler the sign-in path is not answered: requests to it go on to
    /// the app (usually a 404).
    ///
    /// The handler gets the user the adapter found (from the session, like the authorizer's);
    /// what the client sends in `userAuthentication.params` is only a hint, never who it is.
    ///
    /// ```
    /// use pusher_auth::signin::{SigninDecision, SigninRequest};
    /// use pusher_auth::{ChannelDecision, ChannelRequest, Credentials, Endpoints, UserData, UserId};
    ///
    /// #[derive(Clone)]
    /// struct User {
    ///     id: UserId,
    ///     name: String,
    /// }
    ///
    /// let endpoints = Endpoints::new(
    ///     Credentials::new("key", "secret")?,
    ///     |_user: User, _: ChannelRequest| async {
    ///         Ok::<_, std::convert::Infallible>(ChannelDecision::deny("no channels here"))
    ///     },
    /// )
    /// .with_signin(|user: User, _request: SigninRequest| async move {
    ///     SigninDecision::user(UserData::new(user.id).with_info(serde_json::json!({ "name": user.name })))
    /// });
    /// assert_eq!(endpoints.signin_path(), Some("/pusher/user-auth"));
    /// # Ok::<(), pusher_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn with_signin<S: Signin<U>>(mut self, handler: S) -> Self {
        self.config().signin = Some(Arc::new(handler));
        self
    }
}

impl<U> Endpoints<U> {
    /// The configuration, for a builder method to change.
    fn config(&mut self) -> &mut Config<U> {
        Arc::make_mut(&mut self.inner)
    }

    /// Answers channel authorization at `path` (pusher-js `channelAuthorization.endpoint`).
    /// Default: `/pusher/auth`.
    ///
    /// # Panics
    ///
    /// When `path` does not start with `/`, or has a query, spaces, percent-encoding, empty
    /// segments or route-pattern characters.
    #[must_use]
    #[track_caller]
    pub fn with_channel_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        check_path(&path, "channel authorization");
        self.config().paths.channel = path;
        self
    }

    /// Answers sign-in at `path` (pusher-js `userAuthentication.endpoint`) once a sign-in
    /// handler is given. Default: `/pusher/user-auth`.
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_signin_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        let path = path.into();
        check_path(&path, "sign-in");
        self.config().paths.signin = path;
        self
    }

    /// Laravel Echo's paths: channels at `/broadcasting/auth`, sign-in at
    /// `/broadcasting/user-auth` (what Echo configures pusher-js with when the app sets no
    /// `authEndpoint`).
    #[must_use]
    #[track_caller]
    pub fn for_laravel_echo(self) -> Self {
        self.with_channel_path(LARAVEL_ECHO_PATHS.0)
            .with_signin_path(LARAVEL_ECHO_PATHS.1)
    }

    /// Verifies webhooks at `path` and hands them to `handler`: 200 when it succeeds, 401 for a
    /// wrong key or signature or a webhook more than 5 minutes from now, 400 for a bad body,
    /// 500 when the handler fails (so that Pusher retries).
    ///
    /// The adapters for axum, actix-web and Rocket also offer a webhook extractor for an
    /// ordinary route of the app, which reaches the app's state the framework's way.
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_webhooks(
        self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
    ) -> Self {
        self.with_webhook_verifier(path, handler, |v| v)
    }

    /// Like [`Endpoints::with_webhooks`], adjusting the verifier (for example
    /// [`WebhookVerifier::with_max_age`]).
    ///
    /// # Panics
    ///
    /// As [`Endpoints::with_channel_path`].
    #[must_use]
    #[track_caller]
    pub fn with_webhook_verifier(
        mut self,
        path: impl Into<Cow<'static, str>>,
        handler: impl WebhookHandler,
        configure: impl FnOnce(WebhookVerifier) -> WebhookVerifier,
    ) -> Self {
        let path = path.into();
        check_path(&path, "webhook");
        let verifier = configure(WebhookVerifier::new(self.inner.credentials.clone()));
        let config = self.config();
        config.webhooks = Some(Arc::new(Webhooks {
            verifier,
            handler: Arc::new(handler),
        }));
        config.paths.webhook = Some(path);
        self
    }

    /// The largest channel or sign-in body read, in bytes (default [`DEFAULT_BODY_LIMIT`]),
    /// whether or not the client sends `Content-Length`; a larger one is a 413.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.config().body_limit = bytes;
        self
    }

    /// The largest webhook body read, in bytes (default [`DEFAULT_WEBHOOK_BODY_LIMIT`]).
    #[must_use]
    pub fn with_webhook_body_limit(mut self, bytes: usize) -> Self {
        self.config().webhook_body_limit = bytes;
        self
    }

    /// The batch, parameter and concurrency limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.config().limits = limits;
        self
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// The channel authorization path.
    pub fn channel_path(&self) -> &str {
        &self.inner.paths.channel
    }

    /// The sign-in path, when sign-in is answered (a sign-in handler was given).
    pub fn signin_path(&self) -> Option<&str> {
        self.inner
            .signin
            .as_ref()
            .map(|_| &*self.inner.paths.signin)
    }

    /// The webhook path, when webhooks are answered.
    pub fn webhook_path(&self) -> Option<&str> {
        self.inner.paths.webhook.as_deref()
    }

    /// The batch, parameter and concurrency limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The channel and sign-in body limit, in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The webhook body limit, in bytes.
    pub fn webhook_body_limit(&self) -> usize {
        self.inner.webhook_body_limit
    }
}
