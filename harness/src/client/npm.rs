//! The real clients that come from npm, pinned by `harness/npm/package-lock.json` and installed
//! by the harness itself (`npm ci`) into a cache on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

const PACKAGE_JSON: &str = include_str!("../../npm/package.json");
const PACKAGE_LOCK: &str = include_str!("../../npm/package-lock.json");

/// Where the pinned clients are installed: `$MCP_AUTH_HARNESS_CACHE`, else
/// `$XDG_CACHE_HOME/mcp-auth-harness`, else `~/.cache/mcp-auth-harness`; one directory per
/// lockfile, so a changed pin installs afresh.
fn install_dir() -> Result<PathBuf, String> {
    let base = std::env::var_os("MCP_AUTH_HARNESS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mcp-auth-harness")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mcp-auth-harness")))
        .ok_or("no cache directory: set MCP_AUTH_HARNESS_CACHE")?;
    let digest = Sha256::digest(PACKAGE_LOCK.as_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(base.join(format!("npm-{tag}")))
}

/// The `node_modules` of the pinned clients, installing them first if needed. The outcome is
/// computed once per process; an error says why the clients cannot run here.
pub fn node_modules() -> Result<&'static Path, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED.get_or_init(install).as_ref().map(PathBuf::as_path).map_err(Clone::clone)
}

fn install() -> Result<PathBuf, String> {
    let dir = install_dir()?;
    let modules = dir.join("node_modules");
    if dir.join(".complete").exists() {
        return Ok(modules);
    }
    // Install beside the final directory, then rename: concurrent harness processes may race,
    // and the loser simply uses the winner's install.
    std::fs::create_dir_all(dir.parent().expect("the install dir has a parent")).map_err(|e| e.to_string())?;
    let staging = tempfile::Builder::new()
        .prefix(".npm-staging-")
        .tempdir_in(dir.parent().expect("the install dir has a parent"))
        .map_err(|e| e.to_string())?;
    std::fs::write(staging.path().join("package.json"), PACKAGE_JSON).map_err(|e| e.to_string())?;
    std::fs::write(staging.path().join("package-lock.json"), PACKAGE_LOCK).map_err(|e| e.to_string())?;
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])
        .current_dir(staging.path())
        .output()
        .map_err(|e| format!("cannot run npm to install the pinned clients: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` of the pinned clients failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::write(staging.path().join(".complete"), b"").map_err(|e| e.to_string())?;
    let staged = staging.keep();
    if std::fs::rename(&staged, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.join(".complete").exists() {
            return Err(format!("cannot install into {}", dir.display()));
        }
    }
    Ok(modules)
}

/// The versions of a package the lockfile pins under `<alias>-<version>` names.
pub fn pinned_versions(alias: &str) -> Vec<String> {
    let manifest: serde_json::Value = serde_json::from_str(PACKAGE_JSON).expect("package.json is JSON");
    let prefix = format!("{alias}-");
    manifest["dependencies"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, _)| name.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}
