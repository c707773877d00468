//! The embedded backend: one sled tree per entity, JSON values wrapped in a version envelope.
//! Keys: sessions by id bytes; receivers by address; cursors and block hashes by chain id (big
//! endian) so scans come out in block order; intents by chain ‖ signer ‖ nonce.

use std::{
    io::ErrorKind,
    path::Path,
    time::{Duration, Instant},
};

use relayer_types::{Address, B256, Intent, Session, SessionId};
use serde::{Serialize, de::DeserializeOwned};

use crate::{Cursor, Store, StoreError, Versioned};

/// sled-backed [`Store`].
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    sessions: sled::Tree,
    receivers: sled::Tree,
    cursors: sled::Tree,
    blocks: sled::Tree,
    intents: sled::Tree,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Codec(e.to_string()))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Codec(e.to_string()))
}

fn block_key(chain_id: u64, number: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&chain_id.to_be_bytes());
    key[8..].copy_from_slice(&number.to_be_bytes());
    key
}

fn intent_prefix(chain_id: u64, signer: Address) -> Vec<u8> {
    [&chain_id.to_be_bytes()[..], signer.as_slice()].concat()
}

impl SledStore {
    /// Opens (or creates) the store in the folder `path`. sled releases its file lock from a
    /// background thread after the previous handle is dropped, so a prompt reopen (a restart in the
    /// same process, or right after the previous process exited) waits briefly for the lock.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        const LOCK_WAIT: Duration = Duration::from_secs(10);
        let started = Instant::now();
        let db = loop {
            match sled::open(path.as_ref()) {
                Err(sled::Error::Io(e))
                    if e.kind() == ErrorKind::WouldBlock && started.elapsed() < LOCK_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => break other.map_err(backend)?,
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        Ok(Self {
            sessions: tree("sessions")?,
            receivers: tree("receivers")?,
            cursors: tree("cursors")?,
            blocks: tree("blocks")?,
            intents: tree("intents")?,
            db,
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(backend)
    }
}

impl Store for SledStore {
    fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let value = encode(&Versioned { version: 1, value: session })?;
        let inserted = self
            .sessions
            .compare_and_swap(session.id.as_bytes(), None::<&[u8]>, Some(value))
            .map_err(backend)?;
        if inserted.is_err() {
            return Err(StoreError::AlreadyExists(session.id));
        }
        self.flush()
    }

    fn session(&self, id: &SessionId) -> Result<Option<Versioned<Session>>, StoreError> {
        self.sessions.get(id.as_bytes()).map_err(backend)?.map(|v| decode(&v)).transpose()
    }

    fn replace_session(&self, session: &Session, expected_version: u64) -> Result<Option<u64>, StoreError> {
        let Some(current) = self.sessions.get(session.id.as_bytes()).map_err(backend)? else {
            return Err(StoreError::NotFound(session.id));
        };
        let stored: Versioned<serde_json::Value> = decode(&current)?;
        if stored.version != expected_version {
            return Ok(None);
        }
        let version = expected_version + 1;
        let value = encode(&Versioned { version, value: session })?;
        let swapped = self
            .sessions
            .compare_and_swap(session.id.as_bytes(), Some(current), Some(value))
            .map_err(backend)?;
        if swapped.is_err() {
            return Ok(None);
        }
        self.flush()?;
        Ok(Some(version))
    }

    fn scan_sessions(&self, visit: &mut dyn FnMut(Session)) -> Result<(), StoreError> {
        for entry in self.sessions.iter() {
            let (_, value) = entry.map_err(backend)?;
            visit(decode::<Versioned<Session>>(&value)?.value);
        }
        Ok(())
    }

    fn index_receiver(&self, receiver: Address, id: &SessionId) -> Result<(), StoreError> {
        self.receivers.insert(receiver.as_slice(), &id.as_bytes()[..]).map_err(backend)?;
        self.flush()
    }

    fn session_by_receiver(&self, receiver: Address) -> Result<Option<SessionId>, StoreError> {
        let Some(bytes) = self.receivers.get(receiver.as_slice()).map_err(backend)? else {
            return Ok(None);
        };
        let bytes: [u8; 16] =
            bytes.as_ref().try_into().map_err(|_| StoreError::Codec("receiver index entry".into()))?;
        Ok(Some(SessionId::from_bytes(bytes)))
    }

    fn cursor(&self, chain_id: u64) -> Result<Option<Cursor>, StoreError> {
        self.cursors.get(chain_id.to_be_bytes()).map_err(backend)?.map(|v| decode(&v)).transpose()
    }

    fn set_cursor(&self, chain_id: u64, cursor: Cursor, blocks: &[(u64, B256)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (number, hash) in blocks {
            batch.insert(&block_key(chain_id, *number)[..], hash.as_slice());
        }
        // After a rollback, hashes above the cursor belong to the abandoned branch.
        for entry in self.blocks.range(block_key(chain_id, cursor.block + 1)..=block_key(chain_id, u64::MAX))
        {
            let (key, _) = entry.map_err(backend)?;
            if !blocks.iter().any(|(n, _)| block_key(chain_id, *n) == key.as_ref()) {
                batch.remove(key);
            }
        }
        self.blocks.apply_batch(batch).map_err(backend)?;
        self.cursors.insert(chain_id.to_be_bytes(), encode(&cursor)?).map_err(backend)?;
        self.flush()
    }

    fn block_hash(&self, chain_id: u64, number: u64) -> Result<Option<B256>, StoreError> {
        Ok(self.blocks.get(block_key(chain_id, number)).map_err(backend)?.map(|v| B256::from_slice(&v)))
    }

    fn prune_block_hashes(&self, chain_id: u64, below: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self.blocks.range(block_key(chain_id, 0)..block_key(chain_id, below)) {
            batch.remove(entry.map_err(backend)?.0);
        }
        self.blocks.apply_batch(batch).map_err(backend)
    }

    fn put_intent(&self, intent: &Intent) -> Result<(), StoreError> {
        let key =
            [intent_prefix(intent.chain_id, intent.signer), intent.nonce.to_be_bytes().to_vec()].concat();
        self.intents.insert(key, encode(intent)?).map_err(backend)?;
        self.flush()
    }

    fn intents(&self, chain_id: u64, signer: Address) -> Result<Vec<Intent>, StoreError> {
        self.intents
            .scan_prefix(intent_prefix(chain_id, signer))
            .map(|entry| decode(&entry.map_err(backend)?.1))
            .collect()
    }

    fn delete_intent(&self, chain_id: u64, signer: Address, nonce: u64) -> Result<(), StoreError> {
        let key = [intent_prefix(chain_id, signer), nonce.to_be_bytes().to_vec()].concat();
        self.intents.remove(key).map_err(backend)?;
        self.flush()
    }
}
