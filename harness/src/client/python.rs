//! Real clients from PyPI, installed by the harness itself as it installs npm ones: a virtual
//! environment in its cache, made with the machine's Python from `harness/python/requirements.lock`
//! (`pip install --require-hashes`, so every file is checked against the lock's hashes), with the
//! driver scripts that speak for the clients beside it. Nothing comes from anywhere but PyPI (or
//! the user's own pip configuration).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::npm::{self, NpmError};

const REQUIREMENTS_LOCK: &str = include_str!("../../python/requirements.lock");

/// The driver scripts, compiled in so the binary finds them wherever it runs.
const DRIVERS: &[(&str, &str)] = &[("fastmcp_client.py", include_str!("../../python/fastmcp_client.py"))];

/// The oldest Python the lock was resolved for (FastMCP 4 needs 3.10; the lock was made with
/// 3.11, whose markers it follows).
const MINIMUM: (u32, u32) = (3, 11);

/// The environment's directory (`{python_env}`): `bin/python` and `drivers/`. Installed on first
/// use (the drivers checked at every first use in a process); the outcome is computed once per process, and an error says why the Python clients
/// cannot run here.
pub fn environment() -> Result<&'static Path, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    npm::once_per_process(&INSTALLED, install, "the pinned Python clients")
}

/// `$MCP_AUTH_HARNESS_PYTHON`, else `python3` on PATH, with its version.
fn interpreter() -> Result<(PathBuf, (u32, u32)), NpmError> {
    let python = std::env::var_os("MCP_AUTH_HARNESS_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let script = "import sys; print('%d.%d' % sys.version_info[:2])";
    let printed = npm::run_installer(&python, &["-c", script], &std::env::temp_dir(), npm::QUERY_TIMEOUT)?;
    let unexpected = |reason: String| NpmError::Unexpected {
        command: format!("{} -c …", python.display()),
        what: "no version",
        reason,
    };
    let (major, minor) = printed.trim().split_once('.').ok_or_else(|| unexpected(printed.clone()))?;
    let number = |n: &str| n.parse::<u32>().map_err(|e| unexpected(e.to_string()));
    let version = (number(major)?, number(minor)?);
    Ok((python, version))
}

fn install() -> Result<PathBuf, NpmError> {
    let (python, version) = interpreter()?;
    if version < MINIMUM {
        return Err(NpmError::Io {
            path: python,
            reason: format!(
                "Python {}.{} is too old: the pinned clients need {}.{} or newer (set MCP_AUTH_HARNESS_PYTHON)",
                version.0, version.1, MINIMUM.0, MINIMUM.1
            ),
        });
    }
    // One environment per lock and Python version: a change to either installs afresh.
    let tag: String = Sha256::digest(REQUIREMENTS_LOCK).iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = npm::cache_dir()?.join(format!("python{}.{}-{tag}", version.0, version.1));
    npm::install_once(&dir, |staging| {
        let venv = staging.display().to_string();
        npm::run_installer(&python, &["-m", "venv", "--clear", &venv], staging, npm::QUERY_TIMEOUT)?;
        let lock = staging.join("requirements.lock");
        std::fs::write(&lock, REQUIREMENTS_LOCK).map_err(|e| NpmError::io(&lock, e))?;
        // Wheels only: nothing is built (no build step runs code from an sdist).
        let args = ["-m", "pip", "install", "--require-hashes", "--no-deps", "--only-binary", ":all:"];
        let args: Vec<&str> =
            args.into_iter().chain(["--quiet", "--disable-pip-version-check", "-r", "requirements.lock"]).collect();
        npm::run_installer(&staging.join("bin/python"), &args, staging, npm::INSTALL_TIMEOUT)?;
        Ok(())
    })?;
    write_drivers(&dir.join("drivers"))?;
    Ok(dir)
}

/// This build's driver scripts, written where the manifests run them unless already there: a
/// driver changes more often than the lock, and a new one should not cost a new environment.
/// Each is written beside its place and renamed, so a concurrent harness never runs half a file.
fn write_drivers(dir: &Path) -> Result<(), NpmError> {
    std::fs::create_dir_all(dir).map_err(|e| NpmError::io(dir, e))?;
    for (name, text) in DRIVERS {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|on_disk| on_disk == *text) {
            continue;
        }
        let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(|e| NpmError::io(dir, e))?;
        std::io::Write::write_all(&mut staged, text.as_bytes()).map_err(|e| NpmError::io(&path, e))?;
        staged.persist(&path).map_err(|e| NpmError::io(&path, e.error))?;
    }
    Ok(())
}
