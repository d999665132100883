//! Any published version of a client, on demand: which versions the npm registry has, and one
//! exact version installed into the cache (`npm-versions/<package>@<version>/`) with the
//! `package-lock.json` npm writes, whose `integrity` hashes record what was installed.

use std::path::{Path, PathBuf};

use semver::Version;

use super::npm::{self, NpmError};

/// How many published versions on each side of a missing one the error names.
const NEAREST_EACH_SIDE: usize = 3;

/// Every version of `package` on the registry, as npm lists them (oldest first).
pub fn published(package: &str) -> Result<Vec<String>, NpmError> {
    let args = ["view", package, "versions", "--json"];
    let text = npm::npm(&args, &std::env::temp_dir(), npm::QUERY_TIMEOUT)?;
    let unexpected = |reason: String| NpmError::Unexpected {
        command: format!("npm {}", args.join(" ")),
        what: "no version list",
        reason,
    };
    // A package with a single version is printed as a bare string.
    match serde_json::from_str(&text).map_err(|e| unexpected(e.to_string()))? {
        serde_json::Value::String(one) => Ok(vec![one]),
        serde_json::Value::Array(all) => Ok(all.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
        other => Err(unexpected(format!("`{other}`"))),
    }
}

/// The stable releases among `published` (no prerelease part, so neither `-alpha.1` nor Codex's
/// platform packages `-linux-x64`), in semver order.
pub fn stable(published: &[String]) -> Vec<Version> {
    let mut versions: Vec<Version> =
        published.iter().filter_map(|v| Version::parse(v).ok()).filter(|v| v.pre.is_empty()).collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The stable releases closest to `wanted` in semver order (a few on each side); the newest ones
/// when `wanted` is not a version at all.
pub fn nearest(published: &[String], wanted: &str) -> Vec<String> {
    let stable = stable(published);
    let at = match Version::parse(wanted) {
        Ok(wanted) => stable.partition_point(|v| *v < wanted),
        Err(_) => stable.len(),
    };
    let from = at.saturating_sub(NEAREST_EACH_SIDE);
    let to = (at + NEAREST_EACH_SIDE).min(stable.len());
    stable[from..to].iter().map(Version::to_string).collect()
}

/// The `node_modules` holding exactly `package@version`, installing it from the registry on first
/// use. A version the registry does not have is an error naming the nearest published ones.
pub fn install(package: &str, version: &str) -> Result<PathBuf, NpmError> {
    let dir = install_dir(package, version)?;
    if !dir.join(".complete").exists() {
        let published = published(package)?;
        if !published.iter().any(|v| v == version) {
            return Err(NpmError::NotPublished {
                package: package.to_owned(),
                version: version.to_owned(),
                nearest: nearest(&published, version),
            });
        }
        let spec = format!("{package}@{version}");
        // A release can be a download of 100 MB and more: say so where the user waits, and say
        // where the record of what was installed is kept.
        eprintln!("installing {spec} from the npm registry into {} …", dir.display());
        npm::install_once(&dir, |staging| {
            let manifest = serde_json::json!({ "name": "mcp-auth-harness-version", "private": true });
            let path = staging.join("package.json");
            std::fs::write(&path, manifest.to_string()).map_err(|e| NpmError::io(&path, e))?;
            let args = ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", "--loglevel=error"];
            let command: Vec<&str> = args.into_iter().chain([spec.as_str()]).collect();
            npm::npm(&command, staging, npm::INSTALL_TIMEOUT)?;
            let found = installed_version(staging, package)?;
            if found != version {
                return Err(NpmError::Unexpected {
                    command: format!("npm {}", command.join(" ")),
                    what: "a lockfile for another version",
                    reason: format!("{package} is {found}, not {version}"),
                });
            }
            Ok(())
        })?;
        eprintln!("installed {spec}; its integrity is recorded in {}", lockfile(package, version)?.display());
    }
    Ok(dir.join("node_modules"))
}

/// Where `package@version`'s install lives: `<cache>/npm-versions/<package>@<version>` (a scoped
/// package nests under its scope, as in `node_modules`).
pub fn install_dir(package: &str, version: &str) -> Result<PathBuf, NpmError> {
    Ok(npm::cache_dir()?.join("npm-versions").join(format!("{package}@{version}")))
}

/// The `package-lock.json` npm wrote for the install, with the `integrity` of every package.
pub fn lockfile(package: &str, version: &str) -> Result<PathBuf, NpmError> {
    install_dir(package, version).map(|dir| dir.join("package-lock.json"))
}

/// The version of `package` the lockfile in `dir` records, checking it carries an integrity hash.
fn installed_version(dir: &Path, package: &str) -> Result<String, NpmError> {
    let path = dir.join("package-lock.json");
    let text = std::fs::read_to_string(&path).map_err(|e| NpmError::io(&path, e))?;
    let lock: serde_json::Value = serde_json::from_str(&text).map_err(|e| NpmError::io(&path, e))?;
    let entry = &lock["packages"][format!("node_modules/{package}")];
    match (entry["version"].as_str(), entry["integrity"].as_str()) {
        (Some(version), Some(_)) => Ok(version.to_owned()),
        _ => Err(NpmError::io(&path, format!("no version with an integrity hash for {package}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codex_like() -> Vec<String> {
        ["0.124.0", "0.125.0-linux-x64", "0.125.0", "0.128.0-alpha.1", "0.128.0", "0.129.0", "0.130.0", "0.131.0"]
            .map(str::to_owned)
            .to_vec()
    }

    #[test]
    fn stable_releases_leave_out_platform_packages_and_prereleases() {
        let stable: Vec<String> = stable(&codex_like()).iter().map(Version::to_string).collect();
        assert_eq!(stable, ["0.124.0", "0.125.0", "0.128.0", "0.129.0", "0.130.0", "0.131.0"]);
    }

    #[test]
    fn nearest_are_the_stable_releases_around_a_missing_version() {
        assert_eq!(nearest(&codex_like(), "0.127.0"), ["0.124.0", "0.125.0", "0.128.0", "0.129.0", "0.130.0"]);
        assert_eq!(nearest(&codex_like(), "9.0.0"), ["0.129.0", "0.130.0", "0.131.0"]);
        assert_eq!(nearest(&codex_like(), "latest"), ["0.129.0", "0.130.0", "0.131.0"]);
        assert!(nearest(&[], "1.0.0").is_empty());
    }

    #[test]
    fn a_scoped_package_nests_under_its_scope() {
        let dir = install_dir("@openai/codex", "0.150.0").unwrap();
        assert!(dir.ends_with("npm-versions/@openai/codex@0.150.0"), "{}", dir.display());
    }
}
