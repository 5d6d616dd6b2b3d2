//! The Rust toolchain the tests run under, for tests that ask cargo about the workspace.

use std::process::Command;

/// A `cargo` command: the one running the tests (`CARGO`), else `cargo` from PATH.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The platform the tests run on, as rustc names it (`x86_64-unknown-linux-gnu`): the `host:` line of
/// `rustc -vV` (`RUSTC`, else `rustc` from PATH).
pub fn host_triple() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).arg("-vV").output().expect("run rustc -vV");
    let text = String::from_utf8(output.stdout).expect("rustc -vV prints UTF-8");
    let host = text.lines().find_map(|line| line.strip_prefix("host: "));
    host.unwrap_or_else(|| panic!("no host line in rustc -vV:\n{text}")).trim().to_owned()
}
