//! The deployment the program is built for: `clusters/$DEPOSIT_VAULT_CLUSTER.toml` (default `localnet`),
//! or the file `DEPOSIT_VAULT_CLUSTER_FILE` names, turned into constants (`$OUT_DIR/cluster.rs`, included
//! by `src/evm.rs`). Nothing on the production path is a devnet value typed into the source: a cluster's
//! bridge, USDC mint, EVM deployment and routes come from its file, and a file that leaves one out, or asks
//! for a bridge this program cannot speak yet, refuses the build. Each file names the cluster it is for,
//! and a build asked for one cluster refuses another's file (a variable left exported from another build
//! must not put one cluster's values under another's name).

use std::{fmt::Write as _, path::PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Cluster {
    cluster: String,
    bridge: String,
    usdc_mint: String,
    cctp: Cctp,
    evm: Evm,
    routes: Vec<Route>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Evm {
    create2_prefix: String,
    factory: String,
    receiver_init_code_hash: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Cctp {
    message_transmitter: String,
    token_messenger_minter: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    chain_id: u64,
    domain: u32,
    usdc: String,
}

fn hex_bytes<const N: usize>(file: &str, field: &str, text: &str) -> [u8; N] {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let fail = |why: &str| -> ! { panic!("{file}: {field} {why} (got {text:?})") };
    if digits.is_empty() {
        fail("is empty: fill it in from the deployment");
    }
    if digits.len() != 2 * N {
        fail(&format!("must be {N} bytes of hex"));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).unwrap_or_else(|_| fail("is not hex"));
    }
    out
}

fn main() {
    println!("cargo:rerun-if-env-changed=DEPOSIT_VAULT_CLUSTER");
    println!("cargo:rerun-if-env-changed=DEPOSIT_VAULT_CLUSTER_FILE");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let asked = std::env::var("DEPOSIT_VAULT_CLUSTER").ok();
    let path = std::env::var("DEPOSIT_VAULT_CLUSTER_FILE").map_or_else(
        |_| dir.join("clusters").join(format!("{}.toml", asked.as_deref().unwrap_or("localnet"))),
        PathBuf::from,
    );
    println!("cargo:rerun-if-changed={}", path.display());
    // Named relative to the crate when it lies inside it (a build's bytes must not depend on where the
    // repository was checked out).
    let file = path.strip_prefix(&dir).unwrap_or(&path).display().to_string();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cluster: Cluster = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let name = cluster.cluster.clone();
    if let Some(asked) = asked.filter(|asked| *asked != name) {
        panic!(
            "{file} is the deployment of cluster {name:?}, but DEPOSIT_VAULT_CLUSTER={asked:?} was asked for"
        );
    }
    // The one bridge the program speaks (the key stays so that another is a build error, not a silent
    // default).
    if cluster.bridge != "cctp-v2" {
        panic!("{file}: bridge must be \"cctp-v2\" (Circle's CCTP v2), not {:?}", cluster.bridge);
    }
    let key = |field: &str, text: &str| -> [u8; 32] {
        bs58::decode(text)
            .into_vec()
            .ok()
            .and_then(|v| v.try_into().ok())
            .unwrap_or_else(|| panic!("{file}: {field} is not a base58 public key (got {text:?})"))
    };
    let mint = key("usdc_mint", &cluster.usdc_mint);
    let transmitter = key("cctp.message_transmitter", &cluster.cctp.message_transmitter);
    let messenger = key("cctp.token_messenger_minter", &cluster.cctp.token_messenger_minter);
    let [prefix] = hex_bytes::<1>(&file, "evm.create2_prefix", &cluster.evm.create2_prefix);
    assert!(prefix == 0xff || prefix == 0x41, "{file}: evm.create2_prefix must be 0xff (EVM) or 0x41 (Tron)");
    let factory = hex_bytes::<20>(&file, "evm.factory", &cluster.evm.factory);
    let init = hex_bytes::<32>(&file, "evm.receiver_init_code_hash", &cluster.evm.receiver_init_code_hash);
    assert!(!cluster.routes.is_empty(), "{file}: no routes");
    let mut routes = String::new();
    for (i, r) in cluster.routes.iter().enumerate() {
        assert!(
            cluster.routes[..i].iter().all(|o| o.chain_id != r.chain_id),
            "{file}: chain {} has two routes",
            r.chain_id
        );
        assert!(
            cluster.routes[..i].iter().all(|o| o.domain != r.domain),
            "{file}: CCTP domain {} has two routes",
            r.domain
        );
        let usdc = hex_bytes::<20>(&file, &format!("routes[{i}].usdc"), &r.usdc);
        let _ = writeln!(
            routes,
            "    Route {{ chain_id: {}, domain: {}, usdc: {usdc:?} }},",
            r.chain_id, r.domain
        );
    }
    let code = format!(
        "/// The cluster this program was built for (`{name}`, from `{file}`).\n\
         pub const CLUSTER: &str = {name:?};\n\
         /// The file its values were read from (relative to the crate when inside it).\n\
         pub const CLUSTER_FILE: &str = {file:?};\n\
         /// The CREATE2 prefix of the EVM deployment's receivers (`0xff`; Tron's `0x41`).\n\
         pub const CREATE2_PREFIX: u8 = {prefix:#04x};\n\
         /// The EVM deployment's `ReceiverFactory`.\n\
         pub const FACTORY: [u8; 20] = {factory:?};\n\
         /// `keccak256` of a receiver clone's init code in that deployment.\n\
         pub const RECEIVER_INIT_CODE_HASH: [u8; 32] = {init:?};\n\
         /// Circle's CCTP v2 MessageTransmitterV2 on this cluster.\n\
         pub const MESSAGE_TRANSMITTER: anchor_lang::prelude::Pubkey = anchor_lang::prelude::Pubkey::new_from_array({transmitter:?});\n\
         /// Circle's CCTP v2 TokenMessengerMinterV2 on this cluster: the only program bridged funds are handed to.\n\
         pub const TOKEN_MESSENGER_MINTER: anchor_lang::prelude::Pubkey = anchor_lang::prelude::Pubkey::new_from_array({messenger:?});\n\
         /// The one mint the bridge carries from Solana: USDC.\n\
         pub const BRIDGED_MINT: anchor_lang::prelude::Pubkey = anchor_lang::prelude::Pubkey::new_from_array({mint:?});\n\
         /// The chains the bridge serves, with Circle's CCTP domain and the USDC it delivers on each.\n\
         pub const ROUTES: [Route; {n}] = [\n{routes}];\n",
        n = cluster.routes.len(),
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("cluster.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
