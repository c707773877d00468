//! Domain types shared by every relayer crate: money in base units, session and client-secret ids,
//! and the session state machine. Pure code: no I/O, no clocks (time is passed in).

pub mod clock;
pub mod ids;
pub mod intent;
pub mod money;
pub mod session;

pub use alloy_primitives::{Address, B256, Bytes, U256};
pub use clock::unix_now;
pub use ids::{ClientSecret, IdError, SessionId};
pub use intent::{Action, Attempt, Intent};
pub use money::{AmountError, format_units, parse_units};
pub use session::*;
