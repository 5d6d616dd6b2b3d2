//! `cargo xtask test`: what CI runs, in the order that fails fastest.
//!
//! Clippy lints while the tests build: `clippy-driver` is the `RUSTC_WORKSPACE_WRAPPER` of one
//! `cargo test --all-targets` build (what `cargo clippy` itself does for a check build), so the
//! dependencies, the AWS SDK above all, are compiled once, for the tests, and never checked a second
//! time for clippy. The same build then proves the workspace-hack current: `cargo build -p X` and
//! `cargo test -p X` for every member must find every dependency fresh.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{self, cargo, project_root};
use crate::venv;

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check` and clippy; run the tests only.
    #[arg(long)]
    pub no_lint: bool,
    /// Extra arguments passed to `cargo test` after `--` (for example a test name filter).
    #[arg(last = true)]
    pub test_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if std::env::var_os("CI").is_some() {
        check_msrv()?;
    }
    if !args.no_lint {
        util::run(cargo().args(["fmt", "--all", "--check"]))?;
    }
    // The Python peers (AWS CLI, boto3, moto) some tests drive; they find it through this variable.
    let venv = venv::ensure_test_venv()?;
    let build = || {
        let mut command = cargo();
        command.env(venv::VENV_ENV, &venv);
        if !args.no_lint {
            lint_with_clippy(&mut command);
        }
        command
    };
    util::run(build().args(["test", "--workspace", "--all-targets", "--locked", "--no-run"]))?;
    check_hack_is_current(&build)?;
    let mut test = build();
    test.args(["test", "--workspace", "--locked"]);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    util::run(&mut test)
}

/// Makes `command` (a cargo build) compile the workspace's own crates through `clippy-driver` with
/// `-D warnings`, as `cargo clippy -- -D warnings` would; dependencies are compiled by rustc as usual.
fn lint_with_clippy(command: &mut Command) {
    // cargo-clippy's protocol with its driver: the lint arguments, joined by this separator.
    command
        .env("RUSTC_WORKSPACE_WRAPPER", "clippy-driver")
        .env("CLIPPY_ARGS", "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__");
}

/// Fails when building one member alone would compile a dependency again: the workspace-hack no
/// longer unifies some crate's features. Run after the workspace build, so every unit is fresh.
///
/// The members the hack leaves out (`traversal-excludes` in `.config/hakari.toml`: eni-model, published and
/// free of AWS crates; xtask and what it uses, built first and alone) are skipped: built alone, they
/// compile their few small dependencies in their own feature set, once.
fn check_hack_is_current(build: &dyn Fn() -> Command) -> anyhow::Result<()> {
    let members = workspace_members()?;
    let config = project_root().join(".config/hakari.toml");
    let config = std::fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
    let left_out = hack_excludes(&config);
    let mut rebuilt = BTreeSet::new();
    for member in members.iter().filter(|member| !left_out.contains(member.as_str())) {
        for args in [vec!["build", "-p", member], vec!["test", "-p", member, "--all-targets", "--no-run"]] {
            let mut command = build();
            command.args(&args).args(["--locked", "--message-format=json"]);
            for unit in compiled_units(&mut command)? {
                if !members.contains(&unit) {
                    rebuilt.insert(format!("{unit} (`cargo {}`)", args.join(" ")));
                }
            }
        }
        if !rebuilt.is_empty() {
            break; // one member shows it; the others would each compile their dependencies again too
        }
    }
    if !rebuilt.is_empty() {
        bail!(
            "the workspace-hack is stale: these dependencies were compiled again for a single package:\n  {}\n\
             run `cargo install cargo-hakari --locked && cargo hakari generate && cargo hakari manage-deps`",
            rebuilt.into_iter().collect::<Vec<_>>().join("\n  ")
        );
    }
    eprintln!(
        "workspace-hack current: {} members each build alone with every dependency fresh ({} left out: {})",
        members.len() - left_out.len(),
        left_out.len(),
        left_out.iter().copied().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// The `workspace-members` of hakari's `[traversal-excludes]`: names on one line, in double quotes.
fn hack_excludes(config: &str) -> BTreeSet<&str> {
    let mut section = "";
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[traversal-excludes]" && line.starts_with("workspace-members") {
            return line.split('"').skip(1).step_by(2).collect();
        }
    }
    BTreeSet::new()
}

/// The package names of the units `command` (a cargo build with `--message-format=json`) compiled
/// rather than found fresh.
fn compiled_units(command: &mut Command) -> anyhow::Result<BTreeSet<String>> {
    let output = command.stderr(std::process::Stdio::inherit()).output().context("could not start cargo")?;
    if !output.status.success() {
        bail!("cargo failed ({})", output.status);
    }
    let mut compiled = BTreeSet::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] == "compiler-artifact" && message["fresh"] == false {
            compiled.insert(package_name(&message["package_id"]));
        }
    }
    Ok(compiled)
}

/// The package name of a `compiler-artifact` message's `package_id`, a Package ID Spec such as
/// `registry+https://…#serde@1.0.219`, `path+file:///…/dummy#dummy-agent@0.1.0`, or
/// `path+file:///…/eni-watch#0.1.0` (the name left out where it is the last path segment).
fn package_name(package_id: &serde_json::Value) -> String {
    let id = package_id.as_str().unwrap_or_default();
    let (url, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
    match fragment.split_once('@') {
        Some((name, _)) => name.to_owned(),
        None => url.rsplit('/').next().unwrap_or(url).to_owned(),
    }
}

/// The workspace's package names.
fn workspace_members() -> anyhow::Result<BTreeSet<String>> {
    let metadata = cargo_metadata()?;
    let names = metadata["packages"].as_array().context("cargo metadata: no packages")?;
    Ok(names.iter().filter_map(|package| package["name"].as_str().map(str::to_owned)).collect())
}

fn cargo_metadata() -> anyhow::Result<serde_json::Value> {
    let output = cargo().args(["metadata", "--format-version", "1", "--no-deps", "--locked"]).output()?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// In CI, the toolchain must be the declared minimum (`rust-version`): CI then proves the MSRV.
fn check_msrv() -> anyhow::Result<()> {
    let metadata = cargo_metadata()?;
    let declared: BTreeSet<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| package["rust_version"].as_str())
        .collect();
    let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())).arg("--version").output()?;
    let version = String::from_utf8_lossy(&rustc.stdout).into_owned();
    msrv_matches(&declared, &version)?;
    eprintln!("MSRV: {} is the declared rust-version", version.trim());
    Ok(())
}

fn msrv_matches(declared: &BTreeSet<&str>, rustc_version: &str) -> anyhow::Result<()> {
    let [msrv] = declared.iter().copied().collect::<Vec<_>>()[..] else {
        bail!("every package should declare the workspace's one rust-version, found {declared:?}");
    };
    // `rustc 1.95.0 (59807616e 2026-04-14)`; a rust-version may omit the patch (`1.95`).
    let running = rustc_version.split_whitespace().nth(1).unwrap_or_default();
    let same = running == msrv || running.strip_prefix(msrv).is_some_and(|rest| rest.starts_with('.'));
    if !same {
        bail!(
            "CI builds with rustc {running} but the workspace declares rust-version {msrv}: \
             CI proves the MSRV only when it builds with it (change rust-version, or the CI toolchain)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn package_names_come_from_registry_and_path_ids() {
        let registry = json!("registry+https://github.com/rust-lang/crates.io-index#serde@1.0.219");
        assert_eq!(package_name(&registry), "serde");
        let path = json!("path+file:///work/main/eni-watch#0.1.0");
        assert_eq!(package_name(&path), "eni-watch");
        let renamed = json!("path+file:///work/main/dummy#dummy-agent@0.1.0");
        assert_eq!(package_name(&renamed), "dummy-agent");
    }

    #[test]
    fn the_hacks_exclusions_are_read_from_its_config() {
        let config = "hakari-package = \"workspace-hack\"\n[traversal-excludes]\n# why\n\
                      workspace-members = [\"eni-model\", \"xtask\"]\n[final-excludes]\nworkspace-members = [\"x\"]\n";
        assert_eq!(hack_excludes(config), BTreeSet::from(["eni-model", "xtask"]));
        assert!(hack_excludes("[final-excludes]\nworkspace-members = [\"x\"]\n").is_empty());
        let ours = std::fs::read_to_string(project_root().join(".config/hakari.toml")).unwrap();
        assert!(hack_excludes(&ours).contains("eni-model"), "{ours}");
    }

    #[test]
    fn the_msrv_must_be_the_toolchain() {
        let declared = BTreeSet::from(["1.95"]);
        assert!(msrv_matches(&declared, "rustc 1.95.0 (59807616e 2026-04-14)").is_ok());
        assert!(msrv_matches(&declared, "rustc 1.96.0 (00000000 2026-06-01)").is_err());
        assert!(msrv_matches(&declared, "rustc 1.951.0").is_err());
        assert!(msrv_matches(&BTreeSet::from(["1.95.0"]), "rustc 1.95.0 (x)").is_ok());
        assert!(msrv_matches(&BTreeSet::from(["1.94", "1.95"]), "rustc 1.95.0").is_err());
    }
}
