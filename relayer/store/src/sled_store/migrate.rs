//! Bringing a store written by an older build to [`SCHEMA`](super::SCHEMA), or refusing one written by
//! a newer build.

use super::*;

impl SledDb {
    /// Brings a store written by an older build to [`SCHEMA`], or refuses one written by a newer build.
    pub(super) fn migrate(&self) -> Result<(), StoreError> {
        let found = match self.meta.get(SCHEMA_KEY).map_err(backend)? {
            Some(v) => u32::from_be_bytes(fixed(&v, "schema version")?),
            // A brand-new store: nothing to migrate, it starts at the current schema.
            None if self.sessions.is_empty() && self.intents.is_empty() && self.cursors.is_empty() => {
                self.meta.insert(SCHEMA_KEY, &SCHEMA.to_be_bytes()[..]).map_err(backend)?;
                return self.flush();
            }
            None => 1, // no `meta`: written before it existed
        };
        if found > SCHEMA {
            return Err(StoreError::Schema { found, supported: SCHEMA });
        }
        if found < 2 {
            // 1 → 2: index every stored session once. Idempotent: a crash here repeats it on reopen,
            // because the version is written last.
            for tree in [&self.expiring, &self.unsettled, &self.touched, &self.counts] {
                tree.clear().map_err(backend)?;
            }
            let (mut indexed, mut failed) = (0u64, None);
            self.scan_sessions(&mut |session| {
                if failed.is_none() {
                    let entries = IndexEntries::of(&session);
                    match self.index_transaction(|ix| ix.update(&session.id, None, &entries)) {
                        Ok(()) => indexed += 1,
                        Err(e) => failed = Some(e),
                    }
                }
            })?;
            if let Some(error) = failed {
                return Err(error);
            }
            if indexed != 0 {
                tracing::info!(from = found, to = 2, sessions = indexed, "store indexed");
            }
        }
        if (2..6).contains(&found) {
            // 3 → 4: the `unsettled` index by what receivers hold; 5 → 6: and by funds bridged and still on
            // their way. Idempotent, like 1 → 2.
            self.unsettled.clear().map_err(backend)?;
            let (mut batch, mut holding) = (sled::Batch::default(), 0u64);
            self.scan_sessions(&mut |session| {
                if session.unsettled() {
                    batch.insert(&session.id.as_bytes()[..], &[][..]);
                    holding += 1;
                }
            })?;
            self.unsettled.apply_batch(batch).map_err(backend)?;
            tracing::info!(from = found, sessions = holding, "unsettled index rebuilt");
        }
        if found < 5 {
            // 4 → 5: tagged receiver keys. Idempotent, and safe to repeat after a crash halfway: a legacy
            // key (20 bytes, 21 starting with 0x41, or 32) is never a tagged one (21 or 33 bytes starting
            // with a family tag, none of which is 0x41).
            let mut rewritten = 0u64;
            for entry in self.receivers.iter() {
                let (key, id) = entry.map_err(backend)?;
                if ChainAddress::from_key(&key).is_ok() {
                    continue;
                }
                let receiver = ChainAddress::from_legacy_key(&key)
                    .map_err(|e| StoreError::codec(format!("malformed receiver index key: {e}"), None))?;
                let mut batch = sled::Batch::default();
                batch.insert(receiver.key(), id);
                batch.remove(key);
                self.receivers.apply_batch(batch).map_err(backend)?;
                rewritten += 1;
            }
            tracing::info!(from = found, receivers = rewritten, "receiver index keyed by family");
        }
        // 2 → 3 rewrites no session (see `SCHEMA`); the one count per status moves into its first shard.
        // Recording the new number is what makes an older build refuse this store instead of misreading a
        // Tron or Solana value.
        if found < SCHEMA {
            for status in SessionStatus::ALL {
                let legacy = status.as_str().as_bytes();
                if let Some(v) = self.counts.get(legacy).map_err(backend)? {
                    let total =
                        i64::try_from(u64::from_be_bytes(fixed(&v, "status count")?)).unwrap_or(i64::MAX);
                    let mut batch = sled::Batch::default();
                    batch.insert(count_key(status, 0), &total.to_be_bytes()[..]);
                    batch.remove(legacy);
                    self.counts.apply_batch(batch).map_err(backend)?;
                }
            }
            self.meta.insert(SCHEMA_KEY, &SCHEMA.to_be_bytes()[..]).map_err(backend)?;
            self.flush()?;
            tracing::info!(from = found, to = SCHEMA, "store schema upgraded");
        }
        Ok(())
    }
}
