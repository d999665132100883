//! A per-run home directory: the client under test never sees the real HOME.

use std::path::{Path, PathBuf};

/// What every sandbox directory's name starts with.
const PREFIX: &str = "mcp-auth-harness-";

/// A temporary directory holding the client's `home/`. Removed on drop unless kept.
#[derive(Debug)]
pub struct Sandbox {
    dir: Option<tempfile::TempDir>,
    kept: Option<PathBuf>,
    home: PathBuf,
}

impl Sandbox {
    /// Creates `<tmp>/mcp-auth-harness-XXXX/home`.
    pub fn new() -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix(PREFIX).tempdir()?;
        let home = dir.path().join("home");
        std::fs::create_dir(&home)?;
        Ok(Self { dir: Some(dir), kept: None, home })
    }

    /// Every sandbox currently in the temporary directory (kept or leaked ones), for leak checks.
    pub fn existing() -> std::collections::BTreeSet<PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(PREFIX)))
            .collect()
    }

    /// The client's HOME.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The sandbox's root (parent of `home/`).
    pub fn root(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).or(self.kept.as_deref()).expect("a sandbox always has a root")
    }

    /// Keeps the directory after the run (for `--keep`) and returns where it is.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(dir) = self.dir.take() {
            self.kept = Some(dir.keep());
        }
        self.kept.clone().expect("kept above")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_is_removed_on_drop_unless_kept() {
        let sandbox = Sandbox::new().unwrap();
        let root = sandbox.root().to_owned();
        assert!(sandbox.home().is_dir());
        drop(sandbox);
        assert!(!root.exists());

        let mut kept = Sandbox::new().unwrap();
        let root = kept.keep();
        drop(kept);
        assert!(root.exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
