//! One file per instruction: its accounts, its checks and its handler.

pub mod deposit_for_burn;
pub mod initialize;
pub mod receive_message;

pub use deposit_for_burn::*;
pub use initialize::*;
pub use receive_message::*;
