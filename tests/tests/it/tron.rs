//! The relayer's Tron transactions against TronWeb (npm `tronweb`, pinned in the root package.json), an
//! implementation we did not write, in both directions and offline: what the relayer builds and signs,
//! TronWeb decodes to the same fields, id and signer; what TronWeb builds and signs, the relayer reads
//! to the same fields, id and signer (and, the signature being deterministic, signs identically).

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use relayer_tron::tx::{Call, RefBlock, Signed, Unsigned, recover, tron_address, txid};
use serde_json::{Value, json};

type Result = eyre::Result<()>;

/// One call of `tests/tron/tronweb.mjs`.
async fn tronweb(command: &str, args: &Value) -> eyre::Result<Value> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tron/tronweb.mjs");
    let out =
        tokio::process::Command::new("node").arg(script).args([command, &args.to_string()]).output().await?;
    eyre::ensure!(out.status.success(), "tronweb.mjs {command}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Calls worth checking: empty and long calldata, TRX sent along, no fee limit, block numbers around the
/// two bytes TaPoS keeps.
fn calls(owner: Address) -> Vec<(Unsigned, &'static str)> {
    let usdt: Address = "a614f803b6fd780986a42c78ec9c7f77e6ded13c".parse().unwrap_or_default();
    let settle = [vec![0x12, 0x34, 0x56, 0x78], vec![0xab; 32 * 9]].concat();
    let block = |number: u64, fill: u8| RefBlock { number, id: B256::repeat_byte(fill) };
    let call = |data: Vec<u8>, call_value: i64| Call { owner, contract: usdt, data, call_value };
    vec![
        (
            Unsigned::new(call(settle, 0), &block(66_987_627, 0x5a), 1_777_445_307_000, 150_000_000),
            "a settle",
        ),
        (
            Unsigned::new(call(vec![], 0), &block(0xffff, 0x01), 1_700_000_000_000, 0),
            "no calldata, no fee limit",
        ),
        (
            Unsigned::new(call(vec![0xa9, 0x05, 0x9c, 0xbb], 1_000_000), &block(0x1_0000, 0xfe), 1, 1),
            "TRX sent along",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_the_relayer_signs_is_read_by_tronweb_as_the_same_call_id_and_signer() -> Result {
    let key = PrivateKeySigner::random();
    for (unsigned, what) in calls(key.address()) {
        let signed = unsigned.sign(&key.clone().into()).await?;
        let args = json!({ "rawDataHex": hex::encode(&signed.raw_data), "signature": hex::encode(signed.signature) });
        let read = tronweb("decode", &args).await?;
        let raw = &read["raw_data"];
        let value = &raw["contract"][0]["parameter"]["value"];
        let hex_eq = |got: &Value, want: &[u8]| {
            got.as_str().is_some_and(|g| g.eq_ignore_ascii_case(&hex::encode(want)))
        };
        assert!(hex_eq(&value["owner_address"], &tron_address(key.address())), "{what}: {value}");
        assert!(hex_eq(&value["contract_address"], &tron_address(unsigned.call.contract)), "{what}: {value}");
        assert!(hex_eq(&value["data"], &unsigned.call.data), "{what}: {value}");
        assert_eq!(value["call_value"], unsigned.call.call_value, "{what}");
        assert_eq!(raw["contract"][0]["type"], "TriggerSmartContract", "{what}");
        assert!(hex_eq(&raw["ref_block_bytes"], &unsigned.ref_block_bytes), "{what}: {raw}");
        assert!(hex_eq(&raw["ref_block_hash"], &unsigned.ref_block_hash), "{what}: {raw}");
        assert_eq!(
            (raw["expiration"].as_i64(), raw["timestamp"].as_i64()),
            (Some(unsigned.expiration_ms), Some(unsigned.timestamp_ms)),
            "{what}"
        );
        assert_eq!(raw["fee_limit"].as_i64().unwrap_or_default(), unsigned.fee_limit, "{what}");
        // TronWeb re-encodes what it read to our bytes, hashes them to our id, recovers our key.
        assert!(hex_eq(&read["rawDataHex"], &signed.raw_data), "{what}: {read}");
        assert!(hex_eq(&read["txID"], signed.txid.as_slice()), "{what}: {read}");
        let signer = read["signer"].as_str().unwrap_or_default();
        assert!(signer.eq_ignore_ascii_case(&hex::encode(tron_address(key.address()))), "{what}: {signer}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_tronweb_builds_and_signs_is_read_by_the_relayer_as_the_same_call_id_and_signer()
-> Result {
    let key = PrivateKeySigner::random();
    for (unsigned, what) in calls(key.address()) {
        let args = json!({
            "owner": hex::encode(tron_address(unsigned.call.owner)),
            "contract": hex::encode(tron_address(unsigned.call.contract)),
            "data": hex::encode(&unsigned.call.data),
            "callValue": unsigned.call.call_value,
            "refBlockBytes": hex::encode(unsigned.ref_block_bytes),
            "refBlockHash": hex::encode(unsigned.ref_block_hash),
            "expiration": unsigned.expiration_ms,
            "timestamp": unsigned.timestamp_ms,
            "feeLimit": unsigned.fee_limit,
            "privateKey": hex::encode(key.to_bytes()),
        });
        let built = tronweb("build", &args).await?;
        let raw_data = hex::decode(built["rawDataHex"].as_str().unwrap_or_default())?;
        assert_eq!(Unsigned::from_raw_data(&raw_data)?, unsigned, "{what}");
        let id = txid(&raw_data);
        assert!(
            built["txID"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&hex::encode(id))),
            "{what}: {built}"
        );
        let signature = hex::decode(built["signature"].as_str().unwrap_or_default())?;
        assert_eq!(recover(id, &signature)?, key.address(), "{what}");
        // Both sign deterministically (RFC 6979, low s): the same transaction, the same bytes.
        let ours = unsigned.sign(&key.clone().into()).await?;
        assert_eq!(
            (ours.raw_data.as_slice(), ours.signature.as_slice()),
            (raw_data.as_slice(), signature.as_slice()),
            "{what}"
        );
        let wire = Signed { raw_data, txid: id, signature: ours.signature }.encode()?;
        assert_eq!(Signed::decode(&wire)?.signer()?, key.address());
    }
    Ok(())
}
