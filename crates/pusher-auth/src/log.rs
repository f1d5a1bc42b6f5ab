//! Rate-limited log lines, for what a client can cause over and over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Lets one line through per period; counts the ones it holds back.
pub(crate) struct Limiter {
    start: Instant,
    period: Duration,
    /// Milliseconds after `start` before which no line is let through.
    next_ms: AtomicU64,
    held_back: AtomicU64,
}

impl Limiter {
    /// One line a minute.
    pub(crate) fn per_minute() -> Self {
        Limiter {
            start: Instant::now(),
            period: Duration::from_secs(60),
            next_ms: AtomicU64::new(0),
            held_back: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now, `n` being how many were held back since the
    /// last one; `None` when this one is held back.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Ordering::Relaxed);
        let period = u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_then_the_count() {
        let limiter = Limiter::per_minute();
        assert_eq!(limiter.allow(), Some(0));
        assert_eq!(limiter.allow(), None);
        assert_eq!(limiter.allow(), None);
        limiter.next_ms.store(0, Ordering::Relaxed); // a minute later
        assert_eq!(limiter.allow(), Some(2));
    }
}
