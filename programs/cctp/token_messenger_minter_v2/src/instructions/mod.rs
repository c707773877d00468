//! One module per instruction: its accounts, checks and handler.

pub mod deposit_for_burn;
pub mod handle_receive_message;

pub use deposit_for_burn::*;
pub use handle_receive_message::*;
