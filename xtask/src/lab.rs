//! `cargo xtask verify|deploy|destroy|iam-policy`: forwarded to the `eni-lab` binary.
//!
//! The experiment needs the AWS SDK; xtask stays free of it (it is built before anything else, alone,
//! and a dependency on the SDK here would compile the SDK a second time with xtask's own feature set).
//! `eni-lab` is built in the dev profile; cargo shows the build (the first one compiles the AWS SDK:
//! minutes), then eni-lab runs. `--help` is answered at once from `eni-lab/help/<task>.txt`, which an
//! eni-lab test keeps equal to what the binary would print.

use crate::util::cargo;

/// Everything after the task name, passed through.
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `eni-lab <task> <args…>` through `cargo run`, exiting with its exit code.
pub fn run(task: &str, args: &Args) -> anyhow::Result<()> {
    if asks_for_help(&args.args) {
        print!("{}", help(task).ok_or_else(|| anyhow::anyhow!("no help for {task}"))?);
        return Ok(());
    }
    let mut command = cargo();
    command.args(["run", "--locked", "-p", "eni-lab", "--bin", "eni-lab", "--", task]).args(&args.args);
    let shown = format!("cargo run -p eni-lab -- {task} {}", args.args.join(" "));
    eprintln!("$ {}", shown.trim_end());
    let status = command.status().map_err(|e| anyhow::anyhow!("could not start cargo: {e}"))?;
    if !status.success() {
        // eni-lab printed why; keep its exit code (1: a phase did not match, 2: bad input or an
        // unconfirmed destroy, 3: destroy left something, 4: a state file was skipped, 130/143: interrupted).
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// `-h` or `--help` among the flags (not after `--`, and not as the value of a flag that takes one:
/// eni-lab has no flag whose value could be `-h`).
fn asks_for_help(args: &[String]) -> bool {
    args.iter().take_while(|arg| *arg != "--").any(|arg| arg == "-h" || arg == "--help")
}

/// eni-lab's rendered help of `task`.
fn help(task: &str) -> Option<&'static str> {
    Some(match task {
        "verify" => include_str!("../../eni-lab/help/verify.txt"),
        "deploy" => include_str!("../../eni-lab/help/deploy.txt"),
        "destroy" => include_str!("../../eni-lab/help/destroy.txt"),
        "iam-policy" => include_str!("../../eni-lab/help/iam-policy.txt"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn help_is_found_among_the_flags_only() {
        assert!(asks_for_help(&args(&["--help"])));
        assert!(asks_for_help(&args(&["--aws", "-h"])));
        assert!(!asks_for_help(&args(&["--aws", "--", "--help"])));
        assert!(!asks_for_help(&args(&["--phases", "deploy,idle"])));
    }

    #[test]
    fn every_forwarded_task_has_its_help() {
        for task in ["verify", "deploy", "destroy", "iam-policy"] {
            let text = help(task).unwrap();
            assert!(text.contains(&format!("Usage: cargo xtask {task}")), "{text}");
        }
        assert_eq!(help("bench"), None);
    }
}
