//! The pusher-auth services under salvo, through salvo's tower compatibility.
//!
//! salvo is not built on tower, but its `tower-compat` feature turns a tower `Service` into a
//! salvo `Handler` (`TowerServiceCompat::compat`). The standalone services of
//! `PusherAuthLayer` (`Clone + Send + Sync`, `Error = Infallible`, with a `Send + Sync` body)
//! are such services, so [`mount`] puts each at its path as a goal; no adapter crate is
//! needed. They accept any request body, so the compat handler must be told which one salvo
//! hands over: `TowerServiceCompat::<ReqBody, _, _, _>::compat(service)`.
//!
//! The user reaches the endpoints through the request extensions, which salvo copies into the
//! `http::Request` the tower service receives. salvo keeps per-request data, the session among
//! it, in the `Depot`, which does not cross into tower services: a hoop that copies the user
//! from the depot into `req.extensions_mut()` as `Option<User>`, on every request
//! ([`FindUser`]), is what `ChannelRoutes<User>` and the sign-in handler need.
//!
//! ```text
//! PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run -p salvo-minimal
//! curl -c jar -d name=ann http://127.0.0.1:3004/login
//! curl -b jar -d 'socket_id=1.2&channel_name=private-chat' http://127.0.0.1:3004/broadcasting/auth
//! ```

use pusher_auth::{
    ChannelRoutes, Credentials, Endpoints, PresenceMember, SigninRequest, UserData, UserId,
};
use pusher_auth_tower::PusherAuthLayer;
use salvo::http::{ReqBody, StatusCode};
use salvo::prelude::TowerServiceCompat;
use salvo::session::{MemoryStore, SessionDepotExt, SessionHandler};
use salvo::{async_trait, handler, Depot, FlowCtrl, Handler, Request, Response, Router};

/// Mounts every answered path of `pusher` on `router`, each through salvo's tower
/// compatibility.
pub fn mount<U>(router: Router, pusher: &PusherAuthLayer<U>) -> Router
where
    U: Clone + Send + Sync + 'static,
{
    pusher
        .services()
        .into_iter()
        .fold(router, |router, (path, service)| {
            // The body type salvo hands over, which the services (generic over bodies) cannot
            // tell the compiler themselves.
            let handler = TowerServiceCompat::<ReqBody, _, _, _>::compat(service);
            // salvo matches decoded, non-empty segments (`/pusher/auth/`, `//pusher//auth` and
            // `/pusher/%61uth` all match `/pusher/auth`); answer only the path as sent, as every
            // other adapter does. (A parent router's prefix comes before it, hence `ends_with`.)
            let exact = path.to_owned();
            router.push(
                Router::with_path(path)
                    .filter_fn(move |req, _| {
                        let sent = req.uri().path();
                        sent.strip_suffix(exact.as_str())
                            .is_some_and(|prefix| !prefix.ends_with('/'))
                    })
                    .goal(handler),
            )
        })
}

/// A salvo hoop that finds the user once per request (in the request or the depot) and puts it
/// in the request extensions as `Option<T>`, where the endpoints read it: `Some(user)` for a
/// logged-in user, `None` otherwise (the endpoints then deny, 403). It inserts the `Option`
/// into every request: without one, the endpoints take the hoop for missing and answer 500
/// `misconfigured`.
#[derive(Debug, Clone)]
pub struct FindUser<F>(pub F);

#[async_trait]
impl<F, T> Handler for FindUser<F>
where
    F: Fn(&Request, &Depot) -> Option<T> + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        _res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let user = (self.0)(req, depot);
        req.extensions_mut().insert(user);
    }
}

/// Who is logged in, as the login handler stored it in the session.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user's id.
    pub id: String,
}

impl CurrentUser {
    /// The user of salvo's session, if one logged in.
    pub fn from_session(_req: &Request, depot: &Depot) -> Option<Self> {
        let id = depot.session()?.get::<String>("user")?;
        Some(CurrentUser { id })
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

/// Logs in whoever asks: a demonstration, not authentication.
#[handler]
async fn login(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let name = req.form::<String>("name").await;
    let stored = match (name, depot.session_mut()) {
        (Some(name), Some(session)) => session.insert("user", name).is_ok(),
        _ => false,
    };
    res.status_code(if stored {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::BAD_REQUEST
    });
}

/// The whole app: `POST /login` and the pusher-auth endpoints, the user found in salvo's
/// session (signed with `secret`, at least 64 bytes).
///
/// # Errors
///
/// When the session secret is too short.
pub fn app(pusher: &PusherAuthLayer<CurrentUser>, secret: &[u8]) -> Result<Router, salvo::Error> {
    let session = SessionHandler::builder(MemoryStore::new(), secret).build()?;
    let router = Router::new()
        .hoop(session)
        .hoop(FindUser(CurrentUser::from_session))
        .push(Router::with_path("login").post(login));
    Ok(mount(router, pusher))
}
