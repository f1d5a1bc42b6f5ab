//! Server-side sessions in this process's memory.
//!
//! Rocket 0.5 has no session library in common use, so the app keeps its own, as small as it
//! can be: a cache from a random 128-bit id (the value of the `chat_session` cookie) to the
//! session — the user, the CSRF token, and the connections the session was authorized for. The
//! cookie is `HttpOnly`, `SameSite=Lax`, `Secure` when configured, and
//! has no `Max-Age`: the server alone decides when a session ends.
//!
//! Why server-side: a session must really end at logout and after its idle time. Rocket's
//! private cookies (encrypted and signed) could carry the user, but a cookie cannot be revoked:
//! a copy taken before logout would keep working. Here the cookie is only a random id, and a
//! session that is gone cannot be brought back by replaying it.
//!
//! Bounded memory: the sessions are a moka cache of at most `CHAT_MAX_SESSIONS`, each gone
//! after the idle time without a request. Past the cap, the least recently used session is
//! evicted (its user logged out) to make room: a flood of logins costs the oldest sessions, never
//! memory without bound, and never the new logins (moka's LRU policy; its default, TinyLFU,
//! would refuse a new session that has not been read yet). Each session remembers at most
//! [`MAX_SOCKETS`] connections. Anonymous visitors create nothing.
//!
//! A production app would keep its sessions in Redis through a Rocket-managed connection pool
//! (`rocket_db_pools` with `deadpool-redis`), with Redis expiring idle keys: sessions would then
//! survive a restart and be shared by every instance. These live in one process, so two
//! instances of this app do not share logins.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chat_common::{BoxFuture, SocketLog, User};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use pusher_auth::SocketId;

/// The most connections remembered per session (the most recent).
pub(crate) const MAX_SOCKETS: usize = 16;

/// One logged-in session.
struct Entry {
    user: User,
    csrf: String,
    sockets: VecDeque<SocketId>,
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
}

/// The session store.
pub(crate) struct Sessions {
    entries: Cache<String, Arc<Mutex<Entry>>>,
}

fn lock(entry: &Mutex<Entry>) -> MutexGuard<'_, Entry> {
    entry.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sessions {
    /// A store whose sessions expire after `idle` without a request, holding at most `max`
    /// (the least recently used evicted past it).
    pub(crate) fn new(idle: Duration, max: u64) -> Self {
        Sessions {
            entries: Cache::builder()
                .max_capacity(max)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(idle)
                .build(),
        }
    }

    /// The live session `id`, if any; looking it up is a use (its idle time starts again).
    fn get(&self, id: &str) -> Option<Arc<Mutex<Entry>>> {
        if !is_id(id) {
            return None;
        }
        self.entries.get(id)
    }

    /// Starts a session for `user` under a new random id, with a new random CSRF token.
    pub(crate) fn start(&self, user: User) -> Result<Active, StartError> {
        let id = chat_common::random_token().map_err(|_| StartError::Random)?;
        let csrf = chat_common::random_token().map_err(|_| StartError::Random)?;
        let entry = Entry {
            user: user.clone(),
            csrf: csrf.clone(),
            sockets: VecDeque::new(),
        };
        self.entries.insert(id.clone(), Arc::new(Mutex::new(entry)));
        Ok(Active { id, user, csrf })
    }

    /// The live session `id`, marked as used now; `None` for an unknown or expired id.
    pub(crate) fn resume(&self, id: &str) -> Option<Active> {
        let entry = self.get(id)?;
        let entry = lock(&entry);
        Some(Active {
            id: id.to_owned(),
            user: entry.user.clone(),
            csrf: entry.csrf.clone(),
        })
    }

    /// Whether session `id` still exists, without counting as a use of it.
    pub(crate) fn is_live(&self, id: &str) -> bool {
        self.entries.contains_key(id)
    }

    /// Ends the session `id`, if it exists.
    pub(crate) fn end(&self, id: &str) {
        self.entries.invalidate(id);
    }

    /// The connections log of session `id`, for the channel policy and `send-message`.
    pub(crate) fn sockets(self: &Arc<Self>, id: &str) -> Arc<dyn SocketLog> {
        Arc::new(SessionSockets {
            sessions: Arc::clone(self),
            id: id.to_owned(),
        })
    }

    fn record(&self, id: &str, socket: SocketId) {
        let Some(entry) = self.get(id) else {
            return;
        };
        let mut entry = lock(&entry);
        if entry.sockets.contains(&socket) {
            return;
        }
        if entry.sockets.len() >= MAX_SOCKETS {
            entry.sockets.pop_front();
        }
        entry.sockets.push_back(socket);
    }

    fn contains(&self, id: &str, socket: &SocketId) -> bool {
        self.get(id)
            .is_some_and(|entry| lock(&entry).sockets.contains(socket))
    }

    /// How many sessions are kept, once the cache's pending upkeep (evictions, expiries) is
    /// done.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
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
    fn idle_sessions_expire() {
        let sessions = Sessions::new(Duration::from_millis(100), 10);
        let Ok(used) = sessions.start(user("ann")) else {
            unreachable!("the store has room")
        };
        let Ok(unused) = sessions.start(user("bob")) else {
            unreachable!("the store has room")
        };
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(40));
            assert!(sessions.resume(&used.id).is_some());
        }
        assert!(sessions.resume(&unused.id).is_none());
    }

    #[test]
    fn past_the_cap_the_least_recently_used_goes_and_a_new_one_stays() {
        let sessions = Sessions::new(Duration::from_secs(60), 100);
        let start = |name: &str| match sessions.start(user(name)) {
            Ok(active) => active.id,
            Err(_) => unreachable!("the OS random source works"),
        };
        let used = start("ann");
        let idle = start("bob");
        for _ in 0..98 {
            start("cy");
        }
        assert_eq!(sessions.len(), 100);
        // A flood of logins nobody uses: every one succeeds, the newest are kept (even
        // unused), and what goes is what was used least recently.
        let mut newest = Vec::new();
        for _ in 0..1000 {
            newest.push(start("flood"));
            if newest.len() % 50 == 0 {
                assert!(sessions.resume(&used).is_some());
            }
        }
        assert!(sessions.len() <= 100);
        assert!(sessions.resume(&idle).is_none());
        assert!(sessions.resume(&used).is_some());
        for id in newest.iter().rev().take(50) {
            assert!(sessions.resume(id).is_some());
        }
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
