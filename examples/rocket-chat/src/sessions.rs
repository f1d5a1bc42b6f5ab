//! Server-side sessions in this process's memory.
//!
//! Rocket 0.5 has no session library in common use, so the app keeps its own, as small as it
//! can be: a map from a random 128-bit id (the value of the `chat_session` cookie) to the
//! session — the user, the CSRF token, the connections the session was authorized for, and when
//! it was last used. The cookie is `HttpOnly`, `SameSite=Lax`, `Secure` when configured, and
//! has no `Max-Age`: the server alone decides when a session ends.
//!
//! Why server-side: a session must really end at logout and after its idle time. Rocket's
//! private cookies (encrypted and signed) could carry the user, but a cookie cannot be revoked:
//! a copy taken before logout would keep working. Here the cookie is only a random id, and a
//! session that is gone cannot be brought back by replaying it.
//!
//! Bounded memory: a session idle too long is dropped when it is next looked up, and every new
//! session sweeps out all expired ones; at most [`MAX_SESSIONS`] exist at once (a login beyond
//! that is refused), each with at most [`MAX_SOCKETS`] connections. Anonymous visitors create
//! nothing.
//!
//! A production app would keep its sessions in Redis through a Rocket-managed connection pool
//! (`rocket_db_pools` with `deadpool-redis`), with Redis expiring idle keys: sessions would then
//! survive a restart and be shared by every instance. These live in one process, so two
//! instances of this app do not share logins.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chat_common::{BoxFuture, SocketLog, User};
use pusher_auth::SocketId;

/// The most sessions kept at once.
pub(crate) const MAX_SESSIONS: usize = 100_000;

/// The most connections remembered per session (the most recent).
pub(crate) const MAX_SOCKETS: usize = 16;

/// One logged-in session.
struct Entry {
    user: User,
    csrf: String,
    sockets: VecDeque<SocketId>,
    last_seen: Instant,
}

/// A live session as a request sees it.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    /// The session id (the cookie's value).
    pub(crate) id: String,
    /// Who is logged in.
    pub(crate) user: User,
    /// The session's CSRF token.
    pub(crate) csrf: String,
}

/// Why a session could not be started.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The OS random source failed: no weak id or token is ever issued instead.
    Random,
    /// [`MAX_SESSIONS`] live sessions exist already.
    Full,
}

/// The session store.
pub(crate) struct Sessions {
    entries: Mutex<HashMap<String, Entry>>,
    idle: Duration,
    max: usize,
}

impl Sessions {
    /// A store whose sessions expire after `idle` without a request, holding at most `max`.
    pub(crate) fn new(idle: Duration, max: usize) -> Self {
        Sessions {
            entries: Mutex::new(HashMap::new()),
            idle,
            max,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.last_seen) >= self.idle
    }

    /// Starts a session for `user` under a new random id, with a new random CSRF token.
    pub(crate) fn start(&self, user: User) -> Result<Active, StartError> {
        let id = chat_common::random_token().map_err(|_| StartError::Random)?;
        let csrf = chat_common::random_token().map_err(|_| StartError::Random)?;
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, entry| !self.expired(entry, now));
        if entries.len() >= self.max {
            return Err(StartError::Full);
        }
        entries.insert(
            id.clone(),
            Entry {
                user: user.clone(),
                csrf: csrf.clone(),
                sockets: VecDeque::new(),
                last_seen: now,
            },
        );
        Ok(Active { id, user, csrf })
    }

    /// The live session `id`, marked as used now; `None` for an unknown or expired id (an
    /// expired session is dropped here).
    pub(crate) fn resume(&self, id: &str) -> Option<Active> {
        if !is_id(id) {
            return None;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        let entry = entries.get_mut(id)?;
        if self.expired(entry, now) {
            entries.remove(id);
            return None;
        }
        entry.last_seen = now;
        Some(Active {
            id: id.to_owned(),
            user: entry.user.clone(),
            csrf: entry.csrf.clone(),
        })
    }

    /// Ends the session `id`, if it exists.
    pub(crate) fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The connections log of session `id`, for the channel policy and `send-message`.
    pub(crate) fn sockets(self: &Arc<Self>, id: &str) -> Arc<dyn SocketLog> {
        Arc::new(SessionSockets {
            sessions: Arc::clone(self),
            id: id.to_owned(),
        })
    }

    fn record(&self, id: &str, socket: SocketId) {
        let now = Instant::now();
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(id) else {
            return;
        };
        if self.expired(entry, now) || entry.sockets.contains(&socket) {
            return;
        }
        if entry.sockets.len() >= MAX_SOCKETS {
            entry.sockets.pop_front();
        }
        entry.sockets.push_back(socket);
    }

    fn contains(&self, id: &str, socket: &SocketId) -> bool {
        let now = Instant::now();
        self.lock()
            .get(id)
            .is_some_and(|entry| !self.expired(entry, now) && entry.sockets.contains(socket))
    }

    /// How many sessions are kept (expired ones not yet swept included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Whether `id` has the shape of an id this store issues (32 lowercase hex digits): anything
/// else is not looked up.
fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The connections one session was authorized for, kept in the session itself.
struct SessionSockets {
    sessions: Arc<Sessions>,
    id: String,
}

impl SocketLog for SessionSockets {
    fn record(&self, socket: SocketId) -> BoxFuture<()> {
        self.sessions.record(&self.id, socket);
        Box::pin(async {})
    }

    fn contains(&self, socket: SocketId) -> BoxFuture<bool> {
        let found = self.sessions.contains(&self.id, &socket);
        Box::pin(async move { found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User::from_name(name).unwrap_or_else(|| unreachable!("a valid name"))
    }

    fn socket(id: &str) -> SocketId {
        SocketId::new(id).unwrap_or_else(|_| unreachable!("a valid socket id"))
    }

    #[test]
    fn a_session_lives_until_it_ends() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let Ok(started) = sessions.start(user("ann")) else {
            unreachable!("the store has room")
        };
        assert!(is_id(&started.id));
        assert_eq!(started.csrf.len(), 32);
        assert_ne!(started.id, started.csrf);
        let resumed = sessions.resume(&started.id).map(|a| (a.user, a.csrf));
        assert_eq!(resumed, Some((user("ann"), started.csrf.clone())));
        sessions.end(&started.id);
        assert!(sessions.resume(&started.id).is_none());
    }

    #[test]
    fn ids_are_new_each_time_and_junk_is_not_looked_up() {
        let sessions = Sessions::new(Duration::from_secs(60), 10);
        let (Ok(a), Ok(b)) = (sessions.start(user("ann")), sessions.start(user("ann"))) else {
            unreachable!("the store has room")
        };
        assert_ne!(a.id, b.id);
        assert!(sessions.resume("unknown").is_none());
        assert!(sessions.resume(&a.id.to_uppercase()).is_none());
    }

    #[test]
    fn idle_sessions_expire_and_are_swept() {
        let sessions = Sessions::new(Duration::from_millis(50), 10);
        let Ok(old) = sessions.start(user("ann")) else {
            unreachable!("the store has room")
        };
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.resume(&old.id).is_none());
        let Ok(_) = sessions.start(user("bob")) else {
            unreachable!("the store has room")
        };
        let Ok(stale) = sessions.start(user("cy")) else {
            unreachable!("the store has room")
        };
        std::thread::sleep(Duration::from_millis(80));
        let Ok(_) = sessions.start(user("dee")) else {
            unreachable!("the store has room")
        };
        // Only the newest is left: the others were swept by the last start.
        assert_eq!(sessions.len(), 1);
        assert!(sessions.resume(&stale.id).is_none());
    }

    #[test]
    fn the_count_is_capped() {
        let sessions = Sessions::new(Duration::from_secs(60), 2);
        assert!(sessions.start(user("a")).is_ok());
        assert!(sessions.start(user("b")).is_ok());
        assert!(matches!(sessions.start(user("c")), Err(StartError::Full)));
    }

    #[tokio::test]
    async fn sockets_are_the_sessions_own_and_bounded() {
        let sessions = Arc::new(Sessions::new(Duration::from_secs(60), 10));
        let (Ok(ann), Ok(bob)) = (sessions.start(user("ann")), sessions.start(user("bob"))) else {
            unreachable!("the store has room")
        };
        let log = sessions.sockets(&ann.id);
        log.record(socket("1.1")).await;
        assert!(log.contains(socket("1.1")).await);
        assert!(!sessions.sockets(&bob.id).contains(socket("1.1")).await);
        for i in 2..=20 {
            log.record(socket(&format!("1.{i}"))).await;
        }
        assert!(
            !log.contains(socket("1.1")).await,
            "the oldest is forgotten"
        );
        assert!(log.contains(socket("1.20")).await);
        sessions.end(&ann.id);
        assert!(!log.contains(socket("1.20")).await);
    }
}
