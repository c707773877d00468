//! The store conformance suite (`relayer_store::conformance`) against the sled backend, on disk; every
//! reopen drops the first handle and opens the same directory again, proving durability.

use relayer_store::{SledStore, conformance::Backend};

struct Sled;

impl Backend for Sled {
    type Store = SledStore;
    type Place = tempfile::TempDir;

    fn place(&self) -> Self::Place {
        tempfile::tempdir().expect("tempdir")
    }

    fn open(&self, place: &Self::Place) -> SledStore {
        SledStore::open(place.path()).expect("open")
    }
}

relayer_store::store_conformance!(Sled);
