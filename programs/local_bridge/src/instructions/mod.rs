//! One file per instruction: its accounts, its checks and its handler.

pub mod initialize;
pub mod receive_message;

pub use initialize::*;
pub use receive_message::*;
