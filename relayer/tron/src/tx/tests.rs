//! Recorded vectors from Tron's documentation (Nile: USDT `transfer` and `balanceOf` built by
//! `/wallet/triggersmartcontract` and `/wallet/triggerconstantcontract`, a transaction read back by
//! `/wallet/gettransactionbyid`, a block from `/wallet/getnowblock`) and hyperlane's Tron provider.

use super::*;
use alloy::signers::local::PrivateKeySigner;

const NILE_OWNER: &str = "dd791d6b49e190062d650e6a23c575510d35f2f9";
const NILE_USDT: &str = "eca9bc828a3005b9a3b909f2cc5c2a54794de05f";

fn address(hex: &str) -> Address {
    hex.parse().expect("address")
}

#[test]
fn a_documented_trigger_reads_and_encodes_byte_for_byte_with_its_documented_id() {
    // `/wallet/triggersmartcontract`: USDT.transfer(TAkMvw…, 100) with a fee limit of 100 TRX.
    let raw_hex = "0a0228c32208ce6d34028278856940f89cf1c0dd335aae01081f12a9010a31747970652e676f6f676c65617069732e636f6d2f70726f746f636f6c2e54726967676572536d617274436f6e747261637412740a1541dd791d6b49e190062d650e6a23c575510d35f2f9121541eca9bc828a3005b9a3b909f2cc5c2a54794de05f2244a9059cbb000000000000000000000000088a2bfcb1c7271029fd69a66859d5556089588400000000000000000000000000000000000000000000000000000000000000647089d0edc0dd33900180c2d72f";
    let raw = hex::decode(raw_hex).expect("hex");
    let read = Unsigned::from_raw_data(&raw).expect("reads");
    let data = "a9059cbb000000000000000000000000088a2bfcb1c7271029fd69a66859d555608958840000000000000000000000000000000000000000000000000000000000000064";
    assert_eq!(
        read,
        Unsigned {
            call: Call {
                owner: address(NILE_OWNER),
                contract: address(NILE_USDT),
                data: hex::decode(data).expect("hex"),
                call_value: 0,
            },
            ref_block_bytes: [0x28, 0xc3],
            ref_block_hash: hex::decode("ce6d340282788569").expect("hex").try_into().expect("8"),
            timestamp_ms: 1_777_447_168_009,
            expiration_ms: 1_777_447_227_000,
            fee_limit: 100_000_000,
        }
    );
    assert_eq!(read.raw_data(), raw, "what we build from the fields is what the node built");
    assert_eq!(txid(&raw).to_string(), "0x8c621a0dc9bd4d405b20d0a43143955b9f546f98bbfde1aec295a65b0f925629");
}

#[test]
fn a_documented_constant_call_without_a_fee_limit_encodes_the_same() {
    let raw_hex = "0a0228c022089eabbe133123b34c40d0d6f0c0dd335a8e01081f1289010a31747970652e676f6f676c65617069732e636f6d2f70726f746f636f6c2e54726967676572536d617274436f6e747261637412540a1541dd791d6b49e190062d650e6a23c575510d35f2f9121541eca9bc828a3005b9a3b909f2cc5c2a54794de05f222470a08231000000000000000000000000dd791d6b49e190062d650e6a23c575510d35f2f970cb97edc0dd33";
    let raw = hex::decode(raw_hex).expect("hex");
    let read = Unsigned::from_raw_data(&raw).expect("reads");
    assert_eq!(read.fee_limit, 0);
    assert_eq!(read.raw_data(), raw);
    assert_eq!(txid(&raw).to_string(), "0xcff6488e738ce77f7325572fe0aa2470f87dbf1c95eeeb2c25feec59d5afa35c");
}

#[test]
fn a_signature_from_the_chain_recovers_its_owner() {
    // `/wallet/gettransactionbyid`: a transaction of the Nile owner above, as the chain stored it.
    let id: B256 = "01b4cde4197b9d1a1ff09ef5d2b1d939d3ec2401b3f002ebd0802c0f30a6e4ca".parse().expect("id");
    let signature = hex::decode("2154e8ef08f014063de8a88bafe748c8cbb48633c1657c083dca1a73439b289f6aa796bfa58797da6354d35fb7334a8c145c48ae266e4a885f7ee44791b5a3c31b").expect("hex");
    assert_eq!(recover(id, &signature), Ok(address(NILE_OWNER)));
    // `v` as 0/1 reads the same; anything else is refused.
    let mut zero_one = signature.clone();
    zero_one[64] -= 27;
    assert_eq!(recover(id, &zero_one), Ok(address(NILE_OWNER)));
    let mut bad = signature.clone();
    bad[64] = 29;
    assert!(matches!(recover(id, &bad), Err(TxError::Signature(_))));
    assert!(matches!(recover(id, &signature[..64]), Err(TxError::Signature(_))));
}

#[test]
fn ids_are_the_sha256_of_raw_data() {
    // hyperlane's vectors: an empty raw, and one with only a timestamp.
    assert_eq!(
        txid(&Raw::default().encode_to_vec()).to_string(),
        "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let stamped = Raw { timestamp: 1_234_567_890, ..Default::default() }.encode_to_vec();
    assert_eq!(
        txid(&stamped).to_string(),
        "0xc298c24fefcbed12b8d688a7488ae8d46fced9561ac9bcab75dc61a66c02c5dc"
    );
}

#[test]
fn a_transaction_names_its_block_by_tapos_and_expires_two_minutes_after_it_was_made() {
    // `/wallet/getnowblock`: block 66,987,627.
    let block = RefBlock {
        number: 66_987_627,
        id: "0000000003fe266bf6b6d392f654dc2e5011601546ed04623d9fcc4e9d439a25".parse().expect("id"),
    };
    assert_eq!(block.bytes(), [0x26, 0x6b]);
    assert_eq!(block.hash(), [0xf6, 0xb6, 0xd3, 0x92, 0xf6, 0x54, 0xdc, 0x2e]);
    let call =
        Call { owner: address(NILE_OWNER), contract: address(NILE_USDT), data: vec![1, 2], call_value: 0 };
    let tx = Unsigned::new(call, &block, 1_777_445_307_000, 30_000_000);
    assert_eq!(tx.expiration_ms - tx.timestamp_ms, 120_000);
}

#[tokio::test]
async fn a_signed_transaction_round_trips_and_recovers_its_signer() {
    let key = PrivateKeySigner::from_bytes(&B256::with_last_byte(1)).expect("key");
    let call = Call {
        owner: key.address(),
        contract: address(NILE_USDT),
        data: vec![0xa9, 0x05, 0x9c, 0xbb],
        call_value: 5,
    };
    let block = RefBlock { number: 0x1234_28c3, id: B256::repeat_byte(0xab) };
    let unsigned = Unsigned::new(call, &block, 1_777_447_168_009, 100_000_000);
    let signed = unsigned.sign(&key.clone().into()).await.expect("signs");
    assert_eq!(signed.txid, txid(&signed.raw_data));
    assert!(matches!(signed.signature[64], 27 | 28));
    assert_eq!(signed.signer(), Ok(key.address()));
    let decoded = Signed::decode(&signed.encode().expect("encodes")).expect("decodes");
    assert_eq!(decoded, signed);
    assert_eq!(Unsigned::from_raw_data(&decoded.raw_data), Ok(unsigned));
}

#[test]
fn what_the_relayer_does_not_write_is_not_read_as_its_call() {
    let call = Call { owner: address(NILE_OWNER), contract: address(NILE_USDT), data: vec![], call_value: 0 };
    let good = Unsigned::new(call, &RefBlock { number: 1, id: B256::ZERO }, 0, 0).raw();
    let cases: [(&str, Raw); 5] = [
        ("a field it does not write", Raw { ref_block_num: 5, ..good.clone() }),
        (
            "two calls",
            Raw { contract: [good.contract.clone(), good.contract.clone()].concat(), ..good.clone() },
        ),
        ("no call", Raw { contract: vec![], ..good.clone() }),
        ("a memo", Raw { data: b"memo".to_vec(), ..good.clone() }),
        (
            "another permission",
            Raw { contract: vec![Contract { permission_id: 2, ..good.contract[0].clone() }], ..good.clone() },
        ),
    ];
    for (what, raw) in cases {
        assert!(matches!(Unsigned::from_raw_data(&raw.encode_to_vec()), Err(TxError::NotACall(_))), "{what}");
    }
    assert!(matches!(evm_address(&[0x42; 21]), Err(TxError::Address(_))));
    assert!(matches!(evm_address(&[0x41; 20]), Err(TxError::Address(_))));
    assert!(Unsigned::from_raw_data(b"\xff\xff").is_err());
}
