//! The send ledger: a family's signed transactions, stored durably **before** they are broadcast, so a
//! restart reconciles against the chain instead of guessing (and never signs a second transaction for
//! work that may already be in flight). Typed over the family's record; the bytes are JSON in the
//! store's send records ([`ChainStore::put_send`]).
//!
//! A record that cannot be read is never skipped: it may describe a transaction in flight. Listing
//! names it (key and cause), counts it in [`SendLedger::unreadable`] (which the chain publishes in its
//! [`ChainStats`](crate::ChainStats), so `/readyz` fails and `/metrics` shows it), and leaves it in the
//! store for an operator; work under its key is refused rather than sent again.

use std::{
    collections::BTreeSet,
    marker::PhantomData,
    sync::{Arc, Mutex, PoisonError},
};

use relayer_store::{ChainStore, StoreError};
use serde::{Serialize, de::DeserializeOwned};

/// Why the ledger could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store failed.
    #[error("the send ledger's store failed")]
    Store(#[from] StoreError),
    /// A record is on file under `key` but cannot be read: whatever it describes may be in flight.
    #[error("the send record {} cannot be read; it may describe a transaction in flight", hex::encode(.key))]
    Unreadable {
        /// The record's key.
        key: Vec<u8>,
        /// Why it cannot be read.
        #[source]
        source: serde_json::Error,
    },
    /// A record could not be encoded (a bug: records are plain data).
    #[error("a send record cannot be encoded")]
    Encode(#[source] serde_json::Error),
}

/// What listing found: the readable records with their keys, and the unreadable ones, named.
#[derive(Debug)]
pub struct Listing<R> {
    /// Readable records, in key order.
    pub records: Vec<(Vec<u8>, R)>,
    /// Records on file that cannot be read ([`LedgerError::Unreadable`] each).
    pub unreadable: Vec<LedgerError>,
}

/// One chain's send records of type `R`.
pub struct SendLedger<R> {
    store: Arc<dyn ChainStore>,
    chain_id: u64,
    /// Keys of the records found unreadable, as the latest listing under each prefix saw them.
    unreadable: Mutex<BTreeSet<Vec<u8>>>,
    record: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for SendLedger<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendLedger").field("chain_id", &self.chain_id).finish_non_exhaustive()
    }
}

impl<R: Serialize + DeserializeOwned> SendLedger<R> {
    /// The ledger of `chain_id` in `store`.
    pub fn new(store: Arc<dyn ChainStore>, chain_id: u64) -> Self {
        Self { store, chain_id, unreadable: Mutex::default(), record: PhantomData }
    }

    /// Stores (or replaces) `record` under `key`, durably.
    pub fn put(&self, key: &[u8], record: &R) -> Result<(), LedgerError> {
        let bytes = serde_json::to_vec(record).map_err(LedgerError::Encode)?;
        Ok(self.store.put_send(self.chain_id, key, &bytes)?)
    }

    /// Whether this process may broadcast now (asked right before every broadcast, first sends and
    /// re-sends alike): `Fenced` once another instance holds the store's signing lease, or this one could
    /// not renew it in time. A transaction on record is then left to the holder, which reconciles it.
    pub fn may_broadcast(&self) -> Result<(), LedgerError> {
        Ok(self.store.may_sign()?)
    }

    /// Forgets the record under `key` (its transaction is final, or provably never landed).
    pub fn delete(&self, key: &[u8]) -> Result<(), LedgerError> {
        Ok(self.store.delete_send(self.chain_id, key)?)
    }

    /// The records whose key starts with `prefix` (all of them for an empty one). Unreadable ones are
    /// logged, counted (until a later listing finds them gone) and returned by name.
    pub fn list(&self, prefix: &[u8]) -> Result<Listing<R>, LedgerError> {
        let mut listing = Listing { records: vec![], unreadable: vec![] };
        let mut found = BTreeSet::new();
        for (key, bytes) in self.store.sends(self.chain_id, prefix)? {
            match serde_json::from_slice(&bytes) {
                Ok(record) => listing.records.push((key, record)),
                Err(source) => {
                    found.insert(key.clone());
                    let error = LedgerError::Unreadable { key, source };
                    tracing::error!(chain_id = self.chain_id, error = %crate::causes(&error), "unreadable send record; left in the store for an operator");
                    listing.unreadable.push(error);
                }
            }
        }
        let mut unreadable = self.unreadable.lock().unwrap_or_else(PoisonError::into_inner);
        unreadable.retain(|key| !key.starts_with(prefix));
        unreadable.extend(found);
        Ok(listing)
    }

    /// The record under exactly `key`, if any; an unreadable one is an error (never "nothing").
    pub fn get(&self, key: &[u8]) -> Result<Option<R>, LedgerError> {
        let mut listing = self.list(key)?;
        if let Some(position) = listing.unreadable.iter().position(|e| unreadable_key(e) == Some(key)) {
            return Err(listing.unreadable.swap_remove(position));
        }
        Ok(listing.records.into_iter().find(|(k, _)| k == key).map(|(_, record)| record))
    }

    /// Unreadable records on file, as the latest listings found them.
    pub fn unreadable(&self) -> u64 {
        self.unreadable.lock().unwrap_or_else(PoisonError::into_inner).len() as u64
    }
}

fn unreadable_key(error: &LedgerError) -> Option<&[u8]> {
    match error {
        LedgerError::Unreadable { key, .. } => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use relayer_store::SledStore;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Record {
        nonce: u64,
    }

    fn ledger() -> (tempfile::TempDir, Arc<dyn ChainStore>, SendLedger<Record>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn ChainStore> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let ledger = SendLedger::new(Arc::clone(&store), 8453);
        (dir, store, ledger)
    }

    #[test]
    fn records_round_trip_in_key_order() {
        let (_dir, _store, ledger) = ledger();
        ledger.put(b"k2", &Record { nonce: 2 }).expect("put");
        ledger.put(b"k1", &Record { nonce: 1 }).expect("put");
        let listing = ledger.list(b"").expect("list");
        assert_eq!(
            listing.records,
            vec![(b"k1".to_vec(), Record { nonce: 1 }), (b"k2".to_vec(), Record { nonce: 2 })]
        );
        assert_eq!(ledger.get(b"k2").expect("get"), Some(Record { nonce: 2 }));
        ledger.delete(b"k2").expect("delete");
        assert_eq!(ledger.get(b"k2").expect("get"), None);
    }

    /// A corrupt record may be a transaction in flight: listing names it and counts it, a lookup of its
    /// key is an error (so no second transaction is signed for that work), and it stays in the store.
    #[test]
    fn an_unreadable_record_is_reported_never_skipped() {
        let (_dir, store, ledger) = ledger();
        ledger.put(b"good", &Record { nonce: 1 }).expect("put");
        store.put_send(8453, b"torn", b"{\"nonce\":").expect("put");
        let listing = ledger.list(b"").expect("list");
        assert_eq!(listing.records.len(), 1);
        assert_eq!(listing.unreadable.len(), 1);
        assert!(
            listing.unreadable[0].to_string().contains(&hex::encode(b"torn")),
            "{}",
            listing.unreadable[0]
        );
        assert_eq!(ledger.unreadable(), 1, "counted for /readyz and /metrics");
        assert!(
            matches!(ledger.get(b"torn"), Err(LedgerError::Unreadable { .. })),
            "not 'nothing on record'"
        );
        assert_eq!(store.sends(8453, b"torn").expect("raw").len(), 1, "left for an operator");
        store.delete_send(8453, b"torn").expect("operator removes it");
        ledger.list(b"").expect("list");
        assert_eq!(ledger.unreadable(), 0);
    }
}
