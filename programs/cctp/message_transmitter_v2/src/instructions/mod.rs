//! One module per instruction: its accounts, checks and handler.

pub mod receive_message;
pub mod send_message;

pub use receive_message::*;
pub use send_message::*;
