//! One file per instruction: its accounts, a `validate()` with every check that needs no CPI, and the
//! handler. Shared steps: `vault_move` (a vault's balance out), `inbound` (an inbox transfer, checked
//! to be the session's) and `cctp` (the burn through Circle's CCTP v2).

pub mod bridge;
pub mod cctp;
pub mod claim;
pub(crate) mod inbound;
pub mod record;
pub mod refund;
pub mod refund_home;
pub mod refund_inbound;
pub mod send_back;
pub mod settle;
pub(crate) mod vault_move;

pub use bridge::*;
pub use cctp::*;
pub use claim::*;
pub use record::*;
pub use refund::*;
pub use refund_home::*;
pub use refund_inbound::*;
pub use send_back::*;
pub use settle::*;
