//! Paths to the pinned foundry binaries that `scripts/tools.sh` installs from npm.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The workspace root (where `package.json` pins the tools).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of a pinned foundry tool (`anvil`, `forge`, `cast`), installing the pinned tools first if
/// they are missing. Errors name what failed, since a fresh machine needs node and npm for this.
pub fn foundry_tool(name: &str) -> std::io::Result<PathBuf> {
    let root = workspace_root();
    let path = root.join(format!("node_modules/@foundry-rs/{name}-linux-amd64/bin/{name}"));
    if !path.exists() {
        let status = Command::new("bash").arg(root.join("scripts/tools.sh")).status()?;
        if !status.success() {
            return Err(std::io::Error::other("scripts/tools.sh failed to install the pinned tools"));
        }
    }
    Ok(path)
}
