//! The secp256k1 key that signs an EVM-shaped chain's transactions (EVM and Tron), wherever it lives:
//! in this process (a raw key, a decrypted keystore) or in a remote signer (a KMS). Every signature is
//! checked here before it is used: it must recover to the address the operator configured. A remote
//! signer that answers with another key's signature (a retargeted alias, a swapped key, a faulty or
//! hostile server) therefore never gets a transaction broadcast, nor a nonce consumed, in the name of
//! an account the relayer does not hold.

use std::sync::Arc;

use alloy::{
    consensus::SignableTransaction,
    network::TxSigner,
    primitives::{Address, B256, Signature},
    signers::{Signer, local::PrivateKeySigner},
};

/// A signing key and the address its signatures must recover to. `Debug` shows the address and the
/// backend, never key material.
#[derive(Clone)]
pub struct EvmKey {
    inner: Arc<dyn Signer<Signature> + Send + Sync>,
    address: Address,
    backend: &'static str,
}

/// Why a signature was not made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The backend did not sign (unreachable, refused, throttled).
    #[error("the {backend} signer did not sign: {reason}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// Its answer.
        reason: String,
    },
    /// The backend signed, but not as the configured account.
    #[error("the {backend} signer's signature recovers to {got}, not to the configured {want}")]
    WrongKey {
        /// The backend.
        backend: &'static str,
        /// The configured address.
        want: Address,
        /// Whom the signature recovers to (the zero address if to nobody).
        got: Address,
    },
}

/// The longest one signature may take (a remote signer's whole call: its credentials' refresh, the
/// request, its retries).
pub const SIGN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl EvmKey {
    /// A key held in this process.
    pub fn local(key: PrivateKeySigner) -> Self {
        let address = key.address();
        Self { inner: Arc::new(key), address, backend: "local" }
    }

    /// A key held by `backend` (a name for logs and errors), whose signatures must recover to `address`.
    /// Refused when the signer itself reports another address.
    pub fn remote(
        signer: impl Signer<Signature> + Send + Sync + 'static,
        address: Address,
        backend: &'static str,
    ) -> Result<Self, KeyError> {
        let got = Signer::address(&signer);
        if got != address {
            return Err(KeyError::WrongKey { backend, want: address, got });
        }
        Ok(Self { inner: Arc::new(signer), address, backend })
    }

    /// The account.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Where the key lives: `local`, `aws-kms`, ….
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Signs `hash` as given (no prefix, no second hash), and checks that the signature recovers to
    /// this key's address. The signature is returned with a low `s` (EIP-2), whatever the backend
    /// gave: nodes refuse a high one, and the check is of what is used.
    /// A remote signer that does not answer within [`SIGN_TIMEOUT`] fails (the call is dropped, and
    /// whatever it held with it): a stalled KMS holds up sending for that long, never forever.
    pub async fn sign_hash(&self, hash: &B256) -> Result<Signature, KeyError> {
        let backend = self.backend;
        let signature = tokio::time::timeout(SIGN_TIMEOUT, self.inner.sign_hash(hash))
            .await
            .map_err(|_| KeyError::Backend { backend, reason: format!("no answer within {SIGN_TIMEOUT:?}") })?
            .map_err(|e| KeyError::Backend { backend, reason: relayer_util::causes(&e) })?;
        let signature = signature.normalized_s();
        match signature.recover_address_from_prehash(hash) {
            Ok(got) if got == self.address => Ok(signature),
            Ok(got) => Err(KeyError::WrongKey { backend, want: self.address, got }),
            Err(e) => {
                Err(KeyError::Backend { backend, reason: format!("a signature that recovers no key: {e}") })
            }
        }
    }
}

impl From<PrivateKeySigner> for EvmKey {
    fn from(key: PrivateKeySigner) -> Self {
        Self::local(key)
    }
}

impl std::fmt::Debug for EvmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmKey").field("address", &self.address).field("backend", &self.backend).finish()
    }
}

#[async_trait::async_trait]
impl TxSigner<Signature> for EvmKey {
    fn address(&self) -> Address {
        self.address
    }

    async fn sign_transaction(
        &self,
        tx: &mut dyn SignableTransaction<Signature>,
    ) -> alloy::signers::Result<Signature> {
        // The transaction's chain id is set by the executor before it signs; the hash covers it.
        self.sign_hash(&tx.signature_hash()).await.map_err(alloy::signers::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signer that claims one address and signs with another key: what a retargeted KMS alias, or a
    /// server answering with the wrong key, looks like from here.
    struct Impostor {
        claims: Address,
        signs_with: PrivateKeySigner,
    }

    #[async_trait::async_trait]
    impl Signer<Signature> for Impostor {
        async fn sign_hash(&self, hash: &B256) -> alloy::signers::Result<Signature> {
            self.signs_with.sign_hash(hash).await
        }
        fn address(&self) -> Address {
            self.claims
        }
        fn chain_id(&self) -> Option<u64> {
            None
        }
        fn set_chain_id(&mut self, _: Option<u64>) {}
    }

    #[tokio::test]
    async fn a_signature_that_does_not_recover_to_the_configured_account_is_refused() {
        let ours = PrivateKeySigner::random();
        let impostor = Impostor { claims: ours.address(), signs_with: PrivateKeySigner::random() };
        let key = EvmKey::remote(impostor, ours.address(), "test").expect("claims the right address");
        let hash = B256::repeat_byte(7);
        match key.sign_hash(&hash).await {
            Err(KeyError::WrongKey { want, got, .. }) => {
                assert_eq!(want, ours.address());
                assert_ne!(got, want);
            }
            other => panic!("signed as another account: {other:?}"),
        }
    }

    /// A backend that answers with the high-`s` twin of a valid signature.
    struct HighS(PrivateKeySigner);

    #[async_trait::async_trait]
    impl Signer<Signature> for HighS {
        async fn sign_hash(&self, hash: &B256) -> alloy::signers::Result<Signature> {
            let low = self.0.sign_hash(hash).await?;
            let n = alloy::primitives::U256::from_be_slice(&alloy::hex!(
                "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
            ));
            Ok(Signature::new(low.r(), n - low.s(), !low.v()))
        }
        fn address(&self) -> Address {
            self.0.address()
        }
        fn chain_id(&self) -> Option<u64> {
            None
        }
        fn set_chain_id(&mut self, _: Option<u64>) {}
    }

    #[tokio::test]
    async fn a_high_s_signature_is_used_in_its_low_s_form() {
        let ours = PrivateKeySigner::random();
        let key = EvmKey::remote(HighS(ours.clone()), ours.address(), "test").expect("its own address");
        let hash = B256::repeat_byte(3);
        let signature = key.sign_hash(&hash).await.expect("signs");
        assert_eq!(signature, ours.sign_hash(&hash).await.expect("signs"), "the low-s form, as nodes want");
    }

    #[tokio::test]
    async fn a_signer_claiming_another_address_is_refused_and_a_right_one_signs() {
        let ours = PrivateKeySigner::random();
        let other = PrivateKeySigner::random();
        assert!(matches!(
            EvmKey::remote(other.clone(), ours.address(), "test"),
            Err(KeyError::WrongKey { .. })
        ));
        let key = EvmKey::remote(ours.clone(), ours.address(), "test").expect("its own address");
        let hash = B256::repeat_byte(9);
        let signature = key.sign_hash(&hash).await.expect("signs");
        assert_eq!(signature.recover_address_from_prehash(&hash).expect("recovers"), ours.address());
        let shown = format!("{key:?}");
        assert!(shown.contains("test") && !shown.contains(&hex_key(&ours)), "{shown}");
    }

    fn hex_key(key: &PrivateKeySigner) -> String {
        alloy::hex::encode(key.to_bytes())
    }
}
