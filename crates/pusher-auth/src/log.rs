//! Rate-limited log lines, for what a client can cause over and over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The period of every limiter.
const PERIOD: Duration = Duration::from_secs(60);

/// What every limiter measures time from (the first use).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Lets one line through a minute; counts the ones it holds back.
pub(crate) struct Limiter {
    /// Milliseconds after the epoch before which no line is let through.
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl Limiter {
    /// A limiter that lets the next line through.
    pub(crate) const fn new() -> Self {
        Limiter {
            next_ms: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now, `n` being how many were held back since the
    /// last one; `None` when this one is held back.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Ordering::Relaxed);
        let period = u64::try_from(PERIOD.as_millis()).unwrap_or(u64::MAX);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now.saturating_add(period),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            Some(self.held_back.swap(0, Ordering::Relaxed))
        } else {
            self.held_back.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The kinds of line that requests can cause over and over, each with its own limiter so that
/// a frequent one does not hide a rare one: misconfigurations, the app's backend failing,
/// odd events in signed webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogKind {
    UserLookup,
    Authorizer,
    PresenceWithoutMember,
    InvalidMember,
    NoMasterKey,
    Signing,
    BatchWithoutDecision,
    NoSigninHandler,
    SigninHandler,
    SignedInUser,
    NoWebhookHandler,
    /// A signed-in member granted where these endpoints answer no sign-in.
    SignedInWithoutSignin,
    /// Finding the user failed (a session store down).
    UserLookupFailed,
    /// An authorizer returned an error.
    AuthorizerFailed,
    /// A sign-in handler returned an error.
    SigninFailed,
    /// A webhook handler returned an error.
    WebhookHandlerFailed,
    /// Reported by an adapter outside the endpoints (a webhook extractor without a verifier).
    Adapter,
}

impl LogKind {
    const COUNT: usize = LogKind::Adapter as usize + 1;
}

/// One limiter per kind of line.
pub(crate) struct LogLimits {
    by_kind: [Limiter; LogKind::COUNT],
}

impl LogLimits {
    pub(crate) const fn new() -> Self {
        LogLimits {
            by_kind: [const { Limiter::new() }; LogKind::COUNT],
        }
    }

    /// `Some(held_back)` when a line of this kind may go out now (see [`Limiter::allow`]).
    pub(crate) fn allow(&self, kind: LogKind) -> Option<u64> {
        // Every kind has a limiter: `by_kind` has one per variant.
        self.by_kind.get(kind as usize).and_then(Limiter::allow)
    }

    /// Logs `what` (and `detail`) at `ERROR` unless a line of this kind went out in the last
    /// minute.
    pub(crate) fn log(&self, kind: LogKind, what: &str, detail: &dyn std::fmt::Display) {
        if let Some(held_back) = self.allow(kind) {
            tracing::error!(target: "pusher_auth", error = %detail, held_back, "{what}");
        }
    }
}

/// Signed webhook events of a known kind that did not parse (kept as `WebhookEvent::Unknown`).
pub(crate) static ODD_WEBHOOK_EVENTS: Limiter = Limiter::new();

/// Misconfigurations reported by adapters, outside any endpoints.
pub(crate) static ADAPTER_MISCONFIGURED: LogLimits = LogLimits::new();

/// Webhook refusals, one limiter per refusal code (`wrong_key`, `malformed_signature`,
/// `bad_signature`, `expired`, `invalid_body`): anyone can send a webhook that is refused, and
/// a flood of forged ones must not hide a real `expired` (a clock off) or `wrong_key` (a
/// rotated secret).
pub(crate) static WEBHOOK_REFUSED: [Limiter; 5] = [const { Limiter::new() }; 5];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_then_the_count() {
        let limiter = Limiter::new();
        assert_eq!(limiter.allow(), Some(0));
        assert_eq!(limiter.allow(), None);
        assert_eq!(limiter.allow(), None);
        limiter.next_ms.store(0, Ordering::Relaxed); // a minute later
        assert_eq!(limiter.allow(), Some(2));
    }

    #[test]
    fn each_kind_has_its_own_limit() {
        let log = LogLimits::new();
        assert_eq!(log.by_kind[LogKind::Authorizer as usize].allow(), Some(0));
        assert_eq!(log.by_kind[LogKind::Authorizer as usize].allow(), None);
        assert_eq!(log.by_kind[LogKind::NoMasterKey as usize].allow(), Some(0));
    }
}
