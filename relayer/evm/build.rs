//! Compiles the Solidity contracts in `contracts/src` with foundry-compilers (solc-js behind
//! `scripts/solc`) and writes one foundry-format artifact per contract into `OUT_DIR`, which the
//! `sol!` bindings read. Nothing is hand-copied, so bindings and bytecode cannot go stale.
//!
//! The compiler settings mirror `foundry.toml`; the golden-vector tests fail if the two ever produce
//! different bytecode (the addresses would differ).

use std::{env, path::PathBuf, process::Command};

use foundry_compilers::{
    ProjectBuilder, ProjectPathsConfig,
    artifacts::{EvmVersion, Settings, remappings::Remapping},
    compilers::solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};

/// Contracts the relayer binds to or deploys.
const CONTRACTS: &[&str] = &[
    "DepositRouter",
    "ReceiverFactory",
    "DepositReceiver",
    "CCTPv2Adapter",
    "LocalTokenMessenger",
    "LocalMessageTransmitter",
    "TestUSDC",
    // Test targets for end-to-end tests of calldata delivery (contracts/test/mocks).
    "PullAllowanceTarget",
    "RevertingTarget",
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..").canonicalize().expect("workspace root");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in ["contracts/src", "package-lock.json", "scripts/solc", "foundry.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    // First use on a fresh clone: install the pinned solc-js and solady.
    let status = Command::new("bash")
        .arg(root.join("scripts/tools.sh"))
        .status()
        .expect("run scripts/tools.sh (needs bash, node and npm)");
    assert!(status.success(), "scripts/tools.sh failed: could not install the pinned tools");

    let node_modules = root.join("node_modules");
    let remapping: Remapping =
        format!("solady/={}/", node_modules.join("solady/src").display()).parse().expect("valid remapping");
    let paths: ProjectPathsConfig<SolcLanguage> = ProjectPathsConfig::builder()
        .root(&root)
        .sources(root.join("contracts/src"))
        // Deployable sources plus the mock targets the end-to-end tests deploy; the forge test suites
        // themselves are forge's business.
        .tests(root.join("contracts/test/mocks"))
        .scripts(out.join("no-scripts"))
        .libs([node_modules])
        .remappings([remapping])
        .artifacts(out.join("artifacts"))
        .cache(out.join("solc-cache.json"))
        .build()
        .expect("project paths");

    let mut settings = Settings::default();
    settings.optimizer.enable();
    settings.optimizer.runs(10_000);
    settings.evm_version = Some(EvmVersion::Cancun);
    settings.metadata = Some(foundry_compilers::artifacts::SettingsMetadata::new(
        foundry_compilers::artifacts::BytecodeHash::None,
        false,
    ));
    let solc = Solc::new(root.join("scripts/solc")).expect("scripts/solc answers --version");
    let project = ProjectBuilder::<SolcCompiler>::new(Default::default())
        .settings(SolcSettings { settings, ..Default::default() })
        .paths(paths)
        .build(SolcCompiler::Specific(solc))
        .expect("foundry-compilers project");
    let output = project.compile().expect("compile contracts");
    assert!(!output.has_compiler_errors(), "solidity compilation failed:\n{output}");

    for name in CONTRACTS {
        let artifact = output.find_first(name).unwrap_or_else(|| panic!("no artifact for {name}"));
        let json = serde_json::to_string(artifact).expect("serialize artifact");
        std::fs::write(out.join(format!("{name}.json")), json).expect("write artifact");
    }
}
