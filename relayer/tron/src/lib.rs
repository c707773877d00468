//! The Tron family (issue 23, in progress). What is here: Tron transactions as the protocol defines them,
//! built and signed locally ([`tx`]); what a node's answer to a broadcast means for the submit pipeline
//! ([`broadcast`]); what its other answers say ([`answers`]: blocks, landings, energy and fees); and the
//! client of its HTTP API ([`node`]).
//! A Tron transaction has no nonce: it names a recent block (TaPoS: two bytes of its number and eight of
//! its id) and expires at a wall-clock time; its id is the SHA-256 of its `raw_data` protobuf, and its
//! signature is a recoverable secp256k1 signature over that id.

pub mod answers;
pub mod broadcast;
pub mod node;
pub mod tx;
