//! Paths to the pinned foundry binaries that `scripts/tools.sh` installs from npm (development only).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The workspace root (where `package.json` pins the tools).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs the pinned tools and Solidity libraries (`scripts/tools.sh`: locked, a no-op when current).
/// Errors name what failed, since a fresh machine needs node and npm for this.
pub fn install_tools() -> std::io::Result<()> {
    let status = Command::new("bash").arg(workspace_root().join("scripts/tools.sh")).status()?;
    if !status.success() {
        return Err(std::io::Error::other("scripts/tools.sh failed to install the pinned tools"));
    }
    Ok(())
}

/// Path of a pinned foundry tool (`anvil`, `forge`, `cast`), installing the pinned tools first if
/// they are missing.
pub fn foundry_tool(name: &str) -> std::io::Result<PathBuf> {
    let path = workspace_root().join(format!("node_modules/@foundry-rs/{name}-linux-amd64/bin/{name}"));
    if !path.exists() {
        install_tools()?;
    }
    Ok(path)
}
