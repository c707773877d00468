//! How the engine retries work a chain could not do yet.

use std::time::Duration;

/// Later than any session's expiry (`Instant` cannot hold `u64::MAX` seconds from now).
pub(super) const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How the engine retries work a chain could not do yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled for each further one.
    pub first_delay: Duration,
    /// Longest delay between two tries.
    pub max_delay: Duration,
    /// Tries (the first included) before giving up. A restart tries again.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(300),
            max_attempts: 14,
        }
    }
}

impl RetryPolicy {
    /// Delay before retrying after `attempts` tries (at least 1): doubling from `first_delay`, capped.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_delay.saturating_mul(1 << doublings).min(self.max_delay)
    }
}
