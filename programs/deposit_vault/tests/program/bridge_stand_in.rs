//! The local bridge (the devnet's CCTP stand-in on Solana): who may initialize it, and what it accepts
//! as a message from an EVM chain.

use anchor_spl::{associated_token, token::spl_token};
use solana_program_test::ProgramTest;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

use super::*;

#[tokio::test]
async fn only_the_mints_mint_authority_may_initialize_its_bridge() {
    let (test, authority) = program_test();
    let mut ctx = ProgramTest::start_with_context(test).await;
    let usdc = local_bridge::USDC_MINT;
    let payer = ctx.payer.pubkey();
    let err = |e: local_bridge::BridgeError| anchor_lang::error::ERROR_CODE_OFFSET + e as u32;
    let initialize = |authority: Pubkey, mint: Pubkey, attester: [u8; 20]| {
        local_bridge::ix::initialize(payer, authority, mint, attester)
    };
    // Attack: the first caller initializes the bridge with its own attester, then signs itself messages
    // that release custody.
    let attacker = Keypair::new();
    let ix = initialize(attacker.pubkey(), usdc, [0xaa; 20]);
    assert_eq!(
        send(&mut ctx, &[ix], &[&attacker]).await.map_err(|e| custom_code(e.unwrap())),
        Err(err(local_bridge::BridgeError::NotMintAuthority))
    );
    // Attack: the same with the authority's key named but not signing.
    let mut ix = initialize(authority.pubkey(), usdc, [0xaa; 20]);
    for meta in &mut ix.accounts {
        meta.is_signer &= meta.pubkey == payer;
    }
    assert_eq!(
        send(&mut ctx, &[ix], &[]).await.map_err(|e| custom_code(e.unwrap())),
        Err(anchor(anchor_lang::error::ErrorCode::AccountNotSigner))
    );
    // Attack: squatting the bridge with a mint the attacker controls (the bridge carries USDC only).
    let own_mint = create_mint(&mut ctx, &attacker, 6).await;
    let ix = initialize(attacker.pubkey(), own_mint, [0xaa; 20]);
    assert_eq!(
        send(&mut ctx, &[ix], &[&attacker]).await.map_err(|e| custom_code(e.unwrap())),
        Err(err(local_bridge::BridgeError::UnsupportedMint))
    );
    assert!(
        ctx.banks_client.get_account(local_bridge::ix::config()).await.unwrap().is_none(),
        "not initialized"
    );
    // USDC's mint authority may, once.
    let ix = initialize(authority.pubkey(), usdc, [0xa7; 20]);
    send(&mut ctx, &[ix], &[&authority]).await.unwrap();
    let config = ctx.banks_client.get_account(local_bridge::ix::config()).await.unwrap().unwrap();
    let config: local_bridge::BridgeConfig = decode(&config.data);
    assert_eq!((config.mint, config.attester), (usdc, [0xa7; 20]));
    let again = initialize(authority.pubkey(), usdc, [0xaa; 20]);
    assert!(send(&mut ctx, &[again], &[&authority]).await.is_err(), "the config exists: no second attester");
}

#[tokio::test]
async fn receive_message_refuses_forged_misdirected_and_malformed_messages_and_charges_the_fee() {
    let mut env = env().await;
    let inbox_token = deposit_vault::inbox_token(&env.mint);
    let hook = Some([1; 32]);
    let message = evm_message(6, 5, inbox_token, 2_000_000, hook);
    // Attack: an attestation by another key.
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let forged = {
        use alloy::signers::SignerSync;
        stranger.sign_hash_sync(&alloy::primitives::keccak256(&message)).unwrap().as_bytes().to_vec()
    };
    let err = |e: local_bridge::BridgeError| anchor_lang::error::ERROR_CODE_OFFSET + e as u32;
    assert_eq!(
        receive(&mut env, message.clone(), forged, inbox_token).await,
        Err(err(local_bridge::BridgeError::BadAttestation))
    );
    // Attack: the attested message with a larger amount.
    let mut altered = message.clone();
    let amount_at = 148 + 68; // Circle's offsets: the header, then the burn's amount
    altered[amount_at..amount_at + 32].copy_from_slice(&u64_word(9_000_000));
    let signature = attest(&message);
    assert_eq!(
        receive(&mut env, altered, signature, inbox_token).await,
        Err(err(local_bridge::BridgeError::BadAttestation))
    );
    // A message for another domain.
    let elsewhere = evm_message_to(6, 0, 5, inbox_token, 2_000_000, 0, hook);
    assert_eq!(
        receive(&mut env, elsewhere.clone(), attest(&elsewhere), inbox_token).await,
        Err(err(local_bridge::BridgeError::WrongDomain))
    );
    // Attack: paying another token account than the message names.
    let payer = env.ctx.payer.pubkey();
    let create = associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        &payer, &payer, &env.mint, &spl_token::ID);
    send(&mut env.ctx, &[create], &[]).await.unwrap();
    let own_account = ata(&payer, &env.mint);
    assert_eq!(
        receive(&mut env, message.clone(), attest(&message), own_account).await,
        Err(err(local_bridge::BridgeError::WrongRecipient))
    );
    // Attack: the attester's own signature with `s` replaced by its high twin (`n - s`, the other `v`):
    // valid ECDSA for the same key, refused as Circle's transmitter refuses it.
    let twin = {
        const N: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
            0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
        ];
        let mut signature = attest(&message);
        let (mut borrow, mut high) = (0i16, [0u8; 32]);
        for i in (0..32).rev() {
            let d = i16::from(N[i]) - i16::from(signature[32 + i]) - borrow;
            (high[i], borrow) = if d < 0 { ((d + 256) as u8, 1) } else { (d as u8, 0) };
        }
        signature[32..64].copy_from_slice(&high);
        signature[64] = if signature[64] == 27 { 28 } else { 27 };
        signature
    };
    assert_eq!(
        receive(&mut env, message.clone(), twin, inbox_token).await,
        Err(err(local_bridge::BridgeError::BadAttestation))
    );
    // Malformed: shorter than Circle's burn, or a burn body of another version (one message, one meaning).
    let truncated = message[..148 + 200].to_vec();
    assert_eq!(
        receive(&mut env, truncated.clone(), attest(&truncated), inbox_token).await,
        Err(err(local_bridge::BridgeError::MalformedMessage))
    );
    let mut other_version = message.clone();
    other_version[148 + 3] = 2;
    assert_eq!(
        receive(&mut env, other_version.clone(), attest(&other_version), inbox_token).await,
        Err(err(local_bridge::BridgeError::MalformedMessage))
    );
    // Attack: an attestation executing a fee above what the burner allowed, or the whole amount (Circle's
    // token messenger refuses both; an overcharging attester must not drain a transfer).
    let fee_at = 148 + 164;
    for (max_fee, fee) in [(1_000, 1_001), (2_000_000 - 1, 2_000_000)] {
        let mut overcharged =
            evm_message_to(local_bridge::LOCAL_DOMAIN, 6, 90, inbox_token, 2_000_000, max_fee, hook);
        overcharged[fee_at..fee_at + 32].copy_from_slice(&u64_word(fee));
        assert_eq!(
            receive(&mut env, overcharged.clone(), attest(&overcharged), inbox_token).await,
            Err(err(local_bridge::BridgeError::FeeExceeded))
        );
    }
    // The fee the attestation executed is withheld, as the EVM side does.
    let with_fee = evm_message_to(local_bridge::LOCAL_DOMAIN, 6, 6, inbox_token, 2_000_000, 1_500, hook);
    receive(&mut env, with_fee.clone(), attest(&with_fee), inbox_token).await.unwrap();
    assert_eq!(balance(&mut env.ctx, inbox_token).await, Some(2_000_000 - 1_500));
    assert_eq!(record(&mut env, 6, 6).await.amount, 2_000_000 - 1_500);
    // And the untouched original still goes through.
    receive(&mut env, message.clone(), attest(&message), inbox_token).await.unwrap();
    // A plain burn (no hook) is recorded without one: no session can claim it from the inbox.
    let plain = evm_message(6, 7, inbox_token, 1, None);
    receive(&mut env, plain.clone(), attest(&plain), inbox_token).await.unwrap();
    assert_eq!(record(&mut env, 6, 7).await.hook, None);
}
