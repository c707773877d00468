//! Domain types shared by every relayer crate: money in base units, session and client-secret ids,
//! and the session state machine. Pure code: no I/O, no clocks (time is passed in).

pub mod chain;
pub mod clock;
pub mod commitment;
pub mod ids;
pub mod money;
pub mod session;
pub mod work;

pub use alloy_primitives::{Address, B256, Bytes, U256};
pub use chain::{
    ChainAddress, ChainKey, Family, ParseError, SOLANA_CHAIN_ID, TRON_CHAIN_ID, TRON_PREFIX, TxId,
};
pub use clock::{unix_now, unix_now_ms};
pub use commitment::Commitment;
pub use ids::{ClientSecret, IdError, SessionId};
pub use money::{AmountError, format_units, parse_units, rescale_units};
pub use session::*;
pub use work::{Action, Cost, WorkRecord, WorkState};
