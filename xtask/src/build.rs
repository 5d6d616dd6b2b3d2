//! `cargo xtask build`: the release `dummy-agent` binary, its path and (stripped) size.
//!
//! The release profile strips symbols (`[profile.release] strip = "symbols"`), so the size printed is
//! the stripped size. `--target aarch64-unknown-linux-musl` cross-builds the static arm64 binary the
//! container ships (linked with the toolchain's `rust-lld`, no C cross toolchain needed).

use std::path::PathBuf;

use anyhow::Context;

use crate::util::{self, cargo, project_root};

#[derive(clap::Args)]
pub struct Args {
    /// Target triple to build for, e.g. `aarch64-unknown-linux-musl` (the container's static arm64
    /// binary; `rustup target add` it first). Default: the host.
    #[arg(long)]
    pub target: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let binary = release_dummy_agent(args.target.as_deref())?;
    let size = std::fs::metadata(&binary).with_context(|| format!("{}", binary.display()))?.len();
    println!("{}", binary.display());
    println!("size: {size} bytes ({:.2} MiB, stripped)", size as f64 / (1024.0 * 1024.0));
    Ok(())
}

/// Builds `dummy-agent` in release mode (for `target`, or the host) and returns the binary's path.
pub fn release_dummy_agent(target: Option<&str>) -> anyhow::Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "dummy-agent", "--bin", "dummy-agent"]);
    if let Some(target) = target {
        build.args(["--target", target]);
        // Pure-Rust dependencies and musl's self-contained CRT: the bundled lld links it for any arch.
        let linker_var = format!("CARGO_TARGET_{}_LINKER", target.to_uppercase().replace(['-', '.'], "_"));
        if target.ends_with("-linux-musl") && std::env::var_os(&linker_var).is_none() {
            build.env(linker_var, "rust-lld");
        }
    }
    util::run(&mut build)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    let profile_dir = match target {
        Some(target) => target_dir.join(target).join("release"),
        None => target_dir.join("release"),
    };
    Ok(profile_dir.join("dummy-agent"))
}
