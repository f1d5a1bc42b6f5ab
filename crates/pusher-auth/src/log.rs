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

/// The kinds of misconfiguration that requests can run into, each with its own limiter so
/// that a frequent one does not hide a rare one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Misconfig {
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
    /// Reported by an adapter outside the endpoints (a webhook extractor without a verifier).
    Adapter,
}

impl Misconfig {
    const COUNT: usize = Misconfig::Adapter as usize + 1;
}

/// One limiter per kind of misconfiguration.
pub(crate) struct MisconfigLog {
    by_kind: [Limiter; Misconfig::COUNT],
}

impl MisconfigLog {
    pub(crate) const fn new() -> Self {
        MisconfigLog {
            by_kind: [const { Limiter::new() }; Misconfig::COUNT],
        }
    }

    /// Logs `what` (and `detail`) at `ERROR` unless a line of this kind went out in the last
    /// minute.
    pub(crate) fn log(&self, kind: Misconfig, what: &str, detail: &dyn std::fmt::Display) {
        // Every kind has a limiter: `by_kind` has one per variant.
        if let Some(held_back) = self.by_kind.get(kind as usize).and_then(Limiter::allow) {
            tracing::error!(target: "pusher_auth", error = %detail, held_back, "{what}");
        }
    }
}

/// Misconfigurations reported by adapters, outside any endpoints.
pub(crate) static ADAPTER_MISCONFIGURED: MisconfigLog = MisconfigLog::new();

/// Webhook refusals: anyone can send a webhook that is refused.
pub(crate) static WEBHOOK_REFUSED: Limiter = Limiter::new();

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
        let log = MisconfigLog::new();
        assert_eq!(log.by_kind[Misconfig::Authorizer as usize].allow(), Some(0));
        assert_eq!(log.by_kind[Misconfig::Authorizer as usize].allow(), None);
        assert_eq!(
            log.by_kind[Misconfig::NoMasterKey as usize].allow(),
            Some(0)
        );
    }
}
