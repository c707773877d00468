//! The compiled contracts the bindings read (`relayer/evm/artifacts/*.json`) are committed, so building
//! the relayer needs neither node nor npm. This test compiles `contracts/src` (and the test targets in
//! `contracts/test/mocks`) with foundry-compilers through the solc-js shim, with the settings of
//! `foundry.toml`, and fails if any committed artifact differs from what the sources compile to.
//!
//! After an intended contract change: `UPDATE_ARTIFACTS=1 cargo test -p relayer-evm --test artifacts`.

use std::path::{Path, PathBuf};

use foundry_compilers::{
    ProjectBuilder, ProjectPathsConfig,
    artifacts::{BytecodeHash, EvmVersion, Settings, SettingsMetadata, remappings::Remapping},
    compilers::solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};
use serde_json::{Value, json};

/// Contracts the relayer binds to or deploys (the test targets serve the end-to-end tests).
const CONTRACTS: &[&str] = &[
    "DepositRouter",
    "ReceiverFactory",
    "DepositReceiver",
    "CallExecutor",
    "CCTPv2Adapter",
    "OFTAdapter",
    "LocalTokenMessenger",
    "LocalOFT",
    "TestUSDT",
    "LocalMessageTransmitter",
    "TestUSDC",
    "PullAllowanceTarget",
    "RevertingTarget",
];

/// The workspace root (where `package.json` pins the tools).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs the pinned solc shim and Solidity libraries (`scripts/tools.sh`: a no-op when current).
fn install_tools() -> std::io::Result<()> {
    let status =
        std::process::Command::new("bash").arg(workspace_root().join("scripts/tools.sh")).status()?;
    if !status.success() {
        return Err(std::io::Error::other("scripts/tools.sh failed to install the pinned tools"));
    }
    Ok(())
}

/// Compiles the sources; returns each contract's slim artifact: ABI, creation and runtime bytecode.
fn compile(root: &Path, out: &Path) -> Vec<(&'static str, Value)> {
    install_tools().expect("install the pinned tools (needs node and npm)");
    let node_modules = root.join("node_modules");
    let remapping: Remapping =
        format!("solady/={}/", node_modules.join("solady/src").display()).parse().expect("valid remapping");
    let paths: ProjectPathsConfig<SolcLanguage> = ProjectPathsConfig::builder()
        .root(root)
        .sources(root.join("contracts/src"))
        .tests(root.join("contracts/test/mocks"))
        .scripts(out.join("no-scripts"))
        .libs([node_modules])
        .remappings([remapping])
        .artifacts(out.join("artifacts"))
        .cache(out.join("solc-cache.json"))
        .build()
        .expect("project paths");
    // Mirrors foundry.toml; the golden vectors fail if forge and this ever compile differently.
    let mut settings = Settings::default();
    settings.optimizer.enable();
    settings.optimizer.runs(10_000);
    settings.evm_version = Some(EvmVersion::Cancun);
    settings.metadata = Some(SettingsMetadata::new(BytecodeHash::None, false));
    let solc = Solc::new(root.join("scripts/solc")).expect("scripts/solc answers --version");
    let project = ProjectBuilder::<SolcCompiler>::new(Default::default())
        .settings(SolcSettings { settings, ..Default::default() })
        .paths(paths)
        .build(SolcCompiler::Specific(solc))
        .expect("foundry-compilers project");
    let output = project.compile().expect("compile contracts");
    assert!(!output.has_compiler_errors(), "solidity compilation failed:\n{output}");
    CONTRACTS
        .iter()
        .map(|name| {
            let artifact = output.find_first(name).unwrap_or_else(|| panic!("no artifact for {name}"));
            let full = serde_json::to_value(artifact).expect("serialize artifact");
            let slim = json!({
                "abi": full["abi"],
                "bytecode": { "object": full["bytecode"]["object"] },
                "deployedBytecode": { "object": full["deployedBytecode"]["object"] },
            });
            (*name, slim)
        })
        .collect()
}

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts").join(format!("{name}.json"))
}

#[test]
fn committed_artifacts_match_what_contracts_src_compiles_to() {
    let root = workspace_root().canonicalize().expect("workspace root");
    let out = tempfile::tempdir().expect("temp dir");
    let update = std::env::var_os("UPDATE_ARTIFACTS").is_some();
    let mut stale = Vec::new();
    for (name, fresh) in compile(&root, out.path()) {
        let path = committed(name);
        if update {
            let text = serde_json::to_string_pretty(&fresh).expect("serialize") + "\n";
            std::fs::write(&path, text).expect("write artifact");
        }
        let stored: Value = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if stored != fresh {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "committed artifacts are stale against contracts/src: {stale:?}; after an intended change run \
         UPDATE_ARTIFACTS=1 cargo test -p relayer-evm --test artifacts"
    );
}
