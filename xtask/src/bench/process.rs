//! CPU time of the processes a comparison runs: a tool's own (run under bash, whose `times` reports
//! its children's user and system seconds) and a live server's (`/proc/PID/stat`). The tools share the
//! machine's cores with the server they load, so both are shown next to every rate.

use std::fs;
use std::process::{Command, Output};
use std::time::Instant;

use anyhow::Context as _;

/// A finished tool run: its output (stdout as the tool wrote it), wall and CPU seconds.
pub struct Timed {
    pub output: Output,
    pub wall_s: f64,
    /// User + system seconds of the tool (NaN if `times` printed nothing readable).
    pub cpu_s: f64,
}

impl Timed {
    /// The tool's CPU use over its run, in percent of one core.
    pub fn cpu_percent(&self) -> f64 {
        self.cpu_s / self.wall_s * 100.0
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
}

/// Runs `program args…` under bash so that its CPU time is known; fails if it fails.
pub fn timed(program: &std::path::Path, args: &[String]) -> anyhow::Result<Timed> {
    let started = Instant::now();
    let output = Command::new("bash")
        .args(["-c", r#""$0" "$@" && times >&2"#])
        .arg(program)
        .args(args)
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let wall_s = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        anyhow::bail!(
            "{} failed ({}): {stdout}{}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // `times` prints two lines on stderr (the shell's, then its children's): the tool's output is intact.
    let cpu_s = parse_children_times(&String::from_utf8_lossy(&output.stderr)).unwrap_or(f64::NAN);
    Ok(Timed { output, wall_s, cpu_s })
}

/// The last line of bash's `times`: the children's user and system time, e.g. `0m1.234s 0m0.567s`.
pub fn parse_children_times(output: &str) -> Option<f64> {
    let line = output.lines().rev().find(|l| !l.trim().is_empty())?;
    let mut total = 0.0;
    for part in line.split_whitespace() {
        let (minutes, seconds) = part.strip_suffix('s')?.split_once('m')?;
        total += minutes.parse::<f64>().ok()? * 60.0 + seconds.parse::<f64>().ok()?;
    }
    Some(total)
}

/// User + system CPU seconds of a live process, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name: state is field 3; utime and stime are 14 and 15.
    let after_name = &stat[stat.rfind(')').context("a /proc stat line")? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_childrens_line_of_times() {
        assert_eq!(parse_children_times("0m0.001s 0m0.002s\n0m1.500s 0m2.250s\n"), Some(3.75));
        assert_eq!(parse_children_times("no times here"), None);
    }

    #[test]
    fn a_timed_run_keeps_the_tools_output_and_counts_its_cpu() {
        let timed = timed(std::path::Path::new("bash"), &["-c".into(), "printf hello".into()]).unwrap();
        assert_eq!(timed.stdout(), "hello");
        assert!(timed.cpu_s >= 0.0 && timed.wall_s > 0.0);
        assert!(self::timed(std::path::Path::new("false"), &[]).is_err());
    }
}
