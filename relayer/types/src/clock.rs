//! The one place the wall clock is read. The state machine never reads it: every transition takes the
//! time as a parameter, so tests can drive it with any clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current unix time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Current unix time in milliseconds (0 if the clock is before 1970), as Tron times blocks and
/// transactions.
pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
