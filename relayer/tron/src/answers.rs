//! What a Tron node's HTTP API answers, read into what the family needs: the blocks a transaction names
//! and is timed by, whether a transaction landed (and what it cost), and what a call's energy costs.
//! Pure functions over the JSON, so they are tested on recorded answers (Tron's documentation).

use alloy::primitives::B256;
use relayer_chain::Refusal;
use serde_json::Value;

use crate::tx::RefBlock;

/// A block as `/wallet/getnowblock` (the head) or `/walletsolidity/getnowblock` (the last solidified
/// one) answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Its number and id.
    pub block: RefBlock,
    /// Its time, unix ms.
    pub timestamp_ms: i64,
}

/// Reads a block answer.
pub fn block(answer: &Value) -> Result<Block, String> {
    let id: B256 = answer["blockID"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| format!("no blockID in {}", clip(answer)))?;
    let raw = &answer["block_header"]["raw_data"];
    let number = raw["number"].as_u64().ok_or_else(|| format!("no block number in {}", clip(answer)))?;
    // The id starts with the number: a mismatch is not a block this client understands.
    if u64::from_be_bytes(id[..8].try_into().unwrap_or_default()) != number {
        return Err(format!("block {number} has id {id}"));
    }
    let timestamp_ms =
        raw["timestamp"].as_i64().ok_or_else(|| format!("no timestamp in {}", clip(answer)))?;
    Ok(Block { block: RefBlock { number, id }, timestamp_ms })
}

/// Where a transaction stands, as `/wallet(solidity)/gettransactioninfobyid` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// The node does not know it (it answers `{}`).
    Unknown,
    /// In a block.
    Landed {
        /// The block's number.
        block: u64,
        /// The call succeeded (`receipt.result` is `SUCCESS`, or absent as for plain transfers).
        success: bool,
        /// What it cost the sender, in sun (energy and bandwidth burnt).
        fee_sun: u64,
    },
}

/// Reads a transaction-info answer.
pub fn landing(answer: &Value) -> Result<Landing, String> {
    if answer.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(Landing::Unknown);
    }
    let block =
        answer["blockNumber"].as_u64().ok_or_else(|| format!("no blockNumber in {}", clip(answer)))?;
    let result = answer["receipt"]["result"].as_str();
    Ok(Landing::Landed {
        block,
        success: result.is_none_or(|r| r == "SUCCESS") && answer.get("result").is_none_or(|r| r != "FAILED"),
        fee_sun: answer["fee"].as_u64().unwrap_or_default(),
    })
}

/// The energy a call needs, as `/wallet/estimateenergy` answers (a node may have it turned off: it says
/// so with `CONTRACT_VALIDATE_ERROR`).
pub fn energy(answer: &Value) -> Result<u64, Refusal> {
    if answer["result"]["result"].as_bool() == Some(true) {
        return answer["energy_required"]
            .as_u64()
            .ok_or_else(|| Refusal::Unanswered(format!("no energy_required in {}", clip(answer))));
    }
    let message = crate::broadcast::message(&answer["result"]["message"]);
    let code = answer["result"]["code"].as_str().unwrap_or("no code");
    Err(Refusal::Unanswered(format!("energy estimate refused: {code}: {message}")))
}

/// The price of one unit of energy in sun, from `/wallet/getchainparameters` (`getEnergyFee`).
pub fn energy_price(answer: &Value) -> Result<u64, String> {
    answer["chainParameter"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["key"] == "getEnergyFee"))
        .and_then(|p| p["value"].as_u64())
        .ok_or_else(|| format!("no getEnergyFee in {}", clip(answer)))
}

/// The `fee_limit` for a call needing `energy` at `price` sun each: that cost times `margin_percent`
/// (room for state that changes between the estimate and the block), at most `ceiling` sun. A call whose
/// bare cost is over the ceiling is not sent: capped below its need it would run out of energy and burn
/// the fee for nothing. It waits, as an EVM transaction waits under its fee ceiling.
pub fn fee_limit(energy: u64, price: u64, margin_percent: u64, ceiling: u64) -> Result<i64, Refusal> {
    let need = u128::from(energy) * u128::from(price);
    if need > u128::from(ceiling) {
        return Err(Refusal::Unanswered(format!(
            "the call needs {need} sun of energy, over the chain's fee ceiling of {ceiling} sun"
        )));
    }
    let limit = (need * u128::from(margin_percent.max(100)) / 100).min(u128::from(ceiling));
    Ok(i64::try_from(limit).unwrap_or(i64::MAX))
}

/// What an account has to pay for transactions: TRX (in sun), and the energy and bandwidth left today
/// (staked and free), from `/wallet/getaccount` and `/wallet/getaccountresource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// TRX, in sun.
    pub balance_sun: u64,
    /// Energy left.
    pub energy: u64,
    /// Bandwidth left (free and staked).
    pub bandwidth: u64,
}

/// Reads an account and its resources. An account the chain has never seen answers `{}` to both: it has
/// nothing. Fields a node leaves out are zero (java-tron omits zero values).
pub fn resources(account: &Value, resource: &Value) -> Resources {
    let n = |v: &Value, field: &str| v[field].as_u64().unwrap_or_default();
    let left = |limit: &str, used: &str| n(resource, limit).saturating_sub(n(resource, used));
    Resources {
        balance_sun: n(account, "balance"),
        energy: left("EnergyLimit", "EnergyUsed"),
        bandwidth: left("freeNetLimit", "freeNetUsed").saturating_add(left("NetLimit", "NetUsed")),
    }
}

fn clip(value: &Value) -> String {
    value.to_string().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `/wallet/getnowblock` on Nile, as documented.
    #[test]
    fn a_documented_block_gives_its_number_id_and_time() {
        let answer = json!({"blockID":"0000000003fe266bf6b6d392f654dc2e5011601546ed04623d9fcc4e9d439a25","block_header":{"raw_data":{"number":66987627,"txTrieRoot":"f8156964cc3e5793a368f938a18ea45c02bd48fe3a412f7091ce8d9ef56df174","witness_address":"41e7860196ad5b5718c1d6326babab039b70b8c1cd","parentHash":"0000000003fe266a65d5194c947f6f7a059d4646c8e9a5293226bc7fdcfc775e","version":34,"timestamp":1777445307000_i64},"witness_signature":"55a2"}});
        let read = block(&answer).expect("reads");
        assert_eq!((read.block.number, read.timestamp_ms), (66_987_627, 1_777_445_307_000));
        assert_eq!(read.block.bytes(), [0x26, 0x6b]);
        let mut wrong = answer.clone();
        wrong["block_header"]["raw_data"]["number"] = json!(66_987_628);
        assert!(block(&wrong).is_err(), "an id that does not start with the number");
        assert!(block(&json!({"Error": "class java.lang.NullPointerException : null"})).is_err());
    }

    /// `/wallet/gettransactioninfobyid`, as documented (a contract call that succeeded), and the empty
    /// object a node answers for a transaction it does not know.
    #[test]
    fn transaction_info_says_whether_and_where_it_landed_and_what_it_cost() {
        let documented = json!({"id":"01b4cde4197b9d1a1ff09ef5d2b1d939d3ec2401b3f002ebd0802c0f30a6e4ca","fee":5254500,"blockNumber":66985120,"blockTimeStamp":1777437762000_i64,"contractResult":[""],"contract_address":"419ff8fc48fb114ccd5bbdc24a86f0c73082f08825","receipt":{"energy_fee":4458500,"energy_usage_total":44585,"net_fee":796000,"result":"SUCCESS"}});
        assert_eq!(
            landing(&documented),
            Ok(Landing::Landed { block: 66_985_120, success: true, fee_sun: 5_254_500 })
        );
        let mut reverted = documented.clone();
        reverted["receipt"]["result"] = json!("REVERT");
        reverted["result"] = json!("FAILED");
        assert!(matches!(landing(&reverted), Ok(Landing::Landed { success: false, .. })));
        let mut out_of_energy = documented.clone();
        out_of_energy["receipt"]["result"] = json!("OUT_OF_ENERGY");
        assert!(matches!(landing(&out_of_energy), Ok(Landing::Landed { success: false, .. })));
        assert_eq!(landing(&json!({})), Ok(Landing::Unknown));
        assert!(landing(&json!({"id": "ab"})).is_err(), "neither empty nor in a block");
    }

    /// `/wallet/getaccount` and `/wallet/getaccountresource` as documented, and a new account's `{}`.
    #[test]
    fn an_accounts_trx_energy_and_bandwidth_are_what_is_left_today() {
        let account = json!({"address":"41e552f6487585c2b58bc2c9bb4492bc1f17132cd0","balance":28180176,"create_time":1631684433000_i64,"net_window_size":28800,"account_resource":{"energy_window_size":28800},"owner_permission":{"permission_name":"owner","threshold":1,"keys":[{"address":"41e552f6487585c2b58bc2c9bb4492bc1f17132cd0","weight":1}]}});
        let resource = json!({"freeNetUsed":267,"freeNetLimit":600,"NetUsed":10,"NetLimit":20,"TotalNetLimit":43200000000_i64,"TotalNetWeight":26458863710_i64,"EnergyUsed":12000,"EnergyLimit":100000,"TotalEnergyLimit":180000000000_i64,"TotalEnergyWeight":19356419467_i64});
        assert_eq!(
            resources(&account, &resource),
            Resources { balance_sun: 28_180_176, energy: 88_000, bandwidth: 343 }
        );
        assert_eq!(
            resources(&json!({}), &json!({"freeNetLimit": 600})),
            Resources { balance_sun: 0, energy: 0, bandwidth: 600 }
        );
    }

    #[test]
    fn an_energy_estimate_or_the_nodes_reason_for_none() {
        assert_eq!(energy(&json!({"result":{"result":true},"energy_required":1870})), Ok(1870));
        let off = json!({"result":{"code":"CONTRACT_VALIDATE_ERROR","message":"this node does not support estimate energy"}});
        assert!(
            matches!(energy(&off), Err(Refusal::Unanswered(m)) if m.ends_with("this node does not support estimate energy"))
        );
        let params = json!({"chainParameter":[{"key":"getMaintenanceTimeInterval","value":21600000},{"key":"getEnergyFee","value":100}]});
        assert_eq!(energy_price(&params), Ok(100));
        assert!(energy_price(&json!({"chainParameter":[]})).is_err());
    }

    #[test]
    fn the_fee_limit_has_a_margin_and_a_ceiling_and_a_call_over_the_ceiling_waits() {
        // A USDT-sized settle: 65,000 energy at 100 sun.
        assert_eq!(fee_limit(65_000, 100, 130, 100_000_000), Ok(8_450_000));
        assert_eq!(fee_limit(65_000, 100, 130, 7_000_000), Ok(7_000_000), "the margin stops at the ceiling");
        assert!(
            matches!(fee_limit(65_000, 100, 130, 6_000_000), Err(Refusal::Unanswered(_))),
            "never capped below the need"
        );
        assert_eq!(fee_limit(65_000, 100, 50, 100_000_000), Ok(6_500_000), "no margin below the estimate");
        assert!(fee_limit(u64::MAX, u64::MAX, 1000, u64::MAX).is_err());
        assert_eq!(fee_limit(u64::MAX, 1, 1000, u64::MAX), Ok(i64::MAX), "a fee_limit is an i64");
    }
}
