//! The pusher-auth services under poem, through poem's tower compatibility.
//!
//! poem is not built on tower, but its `tower-compat` feature turns a tower `Service` into a
//! poem `Endpoint` (`TowerCompatExt::compat`). The standalone services of `PusherAuthLayer`
//! (`Clone + Send + Sync`, never failing, with a `Send + Sync` body) are such services, so
//! [`mount`] puts each at its path; no adapter crate is needed. The layer itself does not fit
//! poem's middleware compatibility (its inner service receives poem's `Request`, not an
//! `http::Request`), and is not needed: the endpoints are routes.
//!
//! The user reaches the endpoints through the request extensions: poem's compatibility hands
//! the tower service the `http::Request` with poem's extensions, so a poem middleware that
//! inserts `Option<User>` there into every request ([`FindUser`]) is all `ChannelRoutes<User>`
//! and the sign-in handler need. poem's own `CookieSession` keeps the `Session` in the same
//! extensions, which is how [`app`] finds the logged-in user.
//!
//! ```text
//! PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p poem-minimal
//! curl -c jar -d name=ann http://127.0.0.1:3003/login
//! curl -b jar -d 'socket_id=1.2&channel_name=private-chat' http://127.0.0.1:3003/broadcasting/auth
//! ```

use poem::endpoint::TowerCompatExt;
use poem::http::StatusCode;
use poem::session::{CookieConfig, CookieSession, Session};
use poem::web::cookie::CookieKey;
use poem::web::Form;
use poem::{handler, post, Endpoint, EndpointExt, Middleware, Request, Route};
use pusher_auth::{
    ChannelRoutes, Credentials, Endpoints, PresenceMember, SigninRequest, UserData, UserId,
};
use pusher_auth_tower::PusherAuthLayer;
use serde::Deserialize;

/// Mounts every answered path of `pusher` on `route`, each through poem's tower
/// compatibility.
pub fn mount<U>(route: Route, pusher: &PusherAuthLayer<U>) -> Route
where
    U: Clone + Send + Sync + 'static,
{
    pusher
        .services()
        .into_iter()
        .fold(route, |route, (path, service)| {
            route.at(path, service.compat())
        })
}

/// A poem middleware that finds the user once per request and puts it in the request
/// extensions as `Option<T>`, where the endpoints read it: `Some(user)` for a logged-in user,
/// `None` otherwise (the endpoints then deny, 403). It inserts the `Option` into every request:
/// without one, the endpoints take the middleware for missing and answer 500 `misconfigured`.
#[derive(Debug, Clone)]
pub struct FindUser<F>(pub F);

impl<E, F, T> Middleware<E> for FindUser<F>
where
    E: Endpoint,
    F: Fn(&Request) -> Option<T> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    type Output = FindUserEndpoint<E, F>;

    fn transform(&self, inner: E) -> Self::Output {
        FindUserEndpoint {
            inner,
            find: self.0.clone(),
        }
    }
}

/// The endpoint [`FindUser`] wraps around.
#[derive(Debug)]
pub struct FindUserEndpoint<E, F> {
    inner: E,
    find: F,
}

impl<E, F, T> Endpoint for FindUserEndpoint<E, F>
where
    E: Endpoint,
    F: Fn(&Request) -> Option<T> + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let user = (self.find)(&req);
        req.extensions_mut().insert(user);
        self.inner.call(req).await
    }
}

/// Who is logged in, as the login handler stored it in the session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user's id.
    pub id: String,
}

impl CurrentUser {
    /// The user of poem's session, if one logged in.
    pub fn from_session(req: &Request) -> Option<Self> {
        let session = req.extensions().get::<Session>()?;
        session.get::<String>("user").map(|id| CurrentUser { id })
    }
}

/// The channel routes of the example: anyone logged in may join `private-chat` and
/// `presence-chat`, and `private-encrypted-chat` when `encrypted` (the credentials have an
/// encryption master key; without one the app offers no encrypted channels, and denies them).
pub fn routes(encrypted: bool) -> ChannelRoutes<CurrentUser> {
    let anyone = |_user: CurrentUser, (): ()| async { true };
    let routes = if encrypted {
        ChannelRoutes::new().channel("chat", anyone)
    } else {
        ChannelRoutes::new().private("chat", anyone)
    };
    routes.presence("chat", |user: CurrentUser, (): ()| async move {
        Some(PresenceMember::new(UserId::new(user.id).ok()?))
    })
}

/// The sign-in handler of the example: anyone logged in signs in as themselves (refused when
/// the name is not a valid user id).
pub async fn signin(user: CurrentUser, _request: SigninRequest) -> Option<UserData> {
    UserId::new(user.id).ok().map(UserData::new)
}

/// The example's endpoints at Laravel Echo's paths (`/broadcasting/auth` and
/// `/broadcasting/user-auth`): the [`routes`] (with encrypted channels when `credentials` have
/// an encryption master key) and [`signin`], for the logged-in [`CurrentUser`].
pub fn endpoints(credentials: Credentials) -> Endpoints<CurrentUser> {
    let encrypted = credentials.has_encryption_master_key();
    Endpoints::new(credentials, routes(encrypted))
        .with_signin(signin)
        .for_laravel_echo()
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

/// Logs in whoever asks: a demonstration, not authentication.
#[handler]
fn login(session: &Session, Form(login): Form<Login>) -> StatusCode {
    session.set("user", login.name);
    StatusCode::NO_CONTENT
}

/// The whole app: `POST /login` and the pusher-auth endpoints, the user found in poem's
/// private cookie session under `key`.
pub fn app(pusher: &PusherAuthLayer<CurrentUser>, key: CookieKey) -> impl Endpoint {
    mount(Route::new().at("/login", post(login)), pusher)
        .with(FindUser(CurrentUser::from_session))
        .with(CookieSession::new(CookieConfig::private(key)))
        .map_to_response()
}
