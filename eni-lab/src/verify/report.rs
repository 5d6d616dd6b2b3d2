//! What verify reports: per phase the checks (expected, observed, verdict), printed as a table in the
//! terminal and written to `report.md` and `report.json` after every phase (so an interrupted run
//! keeps what it found).
//!
//! A check whose outcome cannot differ (the phase would have stopped with an error before, or the
//! judgement is advisory, as the quota under `--aws`) is an information row ([`Check::info`]): shown
//! with the verdict `info`, never counted as a match.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::args::Phase;
use super::target::Target;
use crate::run::{Connection, RunId};

/// One thing a phase checks, or shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub observed: String,
    /// `Some(true)` match, `Some(false)` mismatch, `None` an information row (no verdict).
    #[serde(default)]
    pub matched: Option<bool>,
}

impl Check {
    /// A judged check.
    pub fn new(what: &str, expected: impl Into<String>, observed: impl Into<String>, matched: bool) -> Self {
        Self { what: what.into(), expected: expected.into(), observed: observed.into(), matched: Some(matched) }
    }

    /// An information row: shown, never a verdict (its outcome could not differ).
    pub fn info(what: &str, expected: impl Into<String>, observed: impl Into<String>) -> Self {
        Self { what: what.into(), expected: expected.into(), observed: observed.into(), matched: None }
    }

    pub fn is_mismatch(&self) -> bool {
        self.matched == Some(false)
    }

    pub fn is_info(&self) -> bool {
        self.matched.is_none()
    }

    /// `match`, `MISMATCH` or `info`.
    pub fn verdict(&self) -> &'static str {
        match self.matched {
            Some(true) => "match",
            Some(false) => "MISMATCH",
            None => "info",
        }
    }
}

/// A phase's verdict. In JSON it is two fields: `verdict` (`match`, `MISMATCH`, `skipped`) and
/// `matched` (true only for a match), as readers of `report.json` expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "VerdictFields", from = "VerdictFields")]
pub enum PhaseVerdict {
    /// Every judged check matched.
    Match,
    /// At least one check did not match (or the phase stopped with an error).
    Mismatch,
    /// Not run: an earlier phase did not match.
    Skipped,
}

impl PhaseVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseVerdict::Match => "match",
            PhaseVerdict::Mismatch => "MISMATCH",
            PhaseVerdict::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for PhaseVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// [`PhaseVerdict`] as `report.json` spells it.
#[derive(Serialize, Deserialize)]
struct VerdictFields {
    verdict: String,
    matched: bool,
}

impl From<PhaseVerdict> for VerdictFields {
    fn from(verdict: PhaseVerdict) -> Self {
        Self { verdict: verdict.as_str().to_owned(), matched: verdict == PhaseVerdict::Match }
    }
}

impl From<VerdictFields> for PhaseVerdict {
    fn from(fields: VerdictFields) -> Self {
        match fields.verdict.as_str() {
            "skipped" => PhaseVerdict::Skipped,
            _ if fields.matched => PhaseVerdict::Match,
            _ => PhaseVerdict::Mismatch,
        }
    }
}

/// The outcome of one phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    pub phase: Phase,
    /// One-line summaries (the first check's, or the phase's own).
    pub expected: String,
    pub observed: String,
    #[serde(flatten)]
    pub verdict: PhaseVerdict,
    pub checks: Vec<Check>,
    /// When not matched: what differs, as a diff (`-` expected, `+` observed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Seconds since the start of the run (wall time).
    pub started_s: f64,
    pub ended_s: f64,
    /// Phase-specific facts (ENIs seen, the load's counts, teardown timings…).
    #[serde(default)]
    pub facts: serde_json::Value,
}

impl PhaseReport {
    /// A phase judged by `checks` (information rows are not judged); `diff` is shown when one of
    /// them failed.
    pub fn judged(
        phase: Phase,
        checks: Vec<Check>,
        diff: Option<String>,
        (started_s, ended_s): (f64, f64),
        facts: serde_json::Value,
    ) -> Self {
        let matched = !checks.iter().any(Check::is_mismatch);
        let first =
            checks.iter().find(|c| c.is_mismatch()).or_else(|| checks.iter().find(|c| !c.is_info())).or(checks.first());
        let (expected, observed) = first.map_or_else(Default::default, |c| (c.expected.clone(), c.observed.clone()));
        let diff = if matched {
            None
        } else {
            Some(diff.unwrap_or_else(|| {
                let mut out = String::new();
                for c in checks.iter().filter(|c| c.is_mismatch()) {
                    let _ = writeln!(out, "{}:\n- {}\n+ {}", c.what, c.expected, c.observed);
                }
                out
            }))
        };
        Self {
            phase,
            expected,
            observed,
            verdict: if matched { PhaseVerdict::Match } else { PhaseVerdict::Mismatch },
            checks,
            diff,
            started_s,
            ended_s,
            facts,
        }
    }

    /// A phase not run because an earlier one did not match.
    pub fn skipped(phase: Phase, why: &str) -> Self {
        Self {
            phase,
            expected: String::new(),
            observed: why.into(),
            verdict: PhaseVerdict::Skipped,
            checks: Vec::new(),
            diff: None,
            started_s: 0.0,
            ended_s: 0.0,
            facts: serde_json::Value::Null,
        }
    }

    /// A phase that stopped with `error`: its one check, failed.
    pub fn failed(phase: Phase, error: &anyhow::Error, times: (f64, f64)) -> Self {
        let check = Check::new("completed", "no error", format!("{error:#}"), false);
        Self::judged(phase, vec![check], Some(format!("{error:#}")), times, serde_json::Value::Null)
    }

    pub fn matched(&self) -> bool {
        self.verdict == PhaseVerdict::Match
    }

    pub fn was_run(&self) -> bool {
        self.verdict != PhaseVerdict::Skipped
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `verify` or `deploy`.
    #[serde(default = "verify_command")]
    pub command: String,
    pub run_id: String,
    /// `embedded`, `endpoint URL`, or `aws REGION`.
    pub connection: String,
    pub region: String,
    pub started_at: String,
    pub duration_s: f64,
    /// `name = value` pairs of the settings.
    pub settings: Vec<(String, String)>,
    pub settings_json: serde_json::Value,
    /// What each phase is asked to do (the `--phases` selection, in run order).
    pub selected: Vec<Phase>,
    pub phases: Vec<PhaseReport>,
    /// Every phase that ran matched (and at least one ran).
    pub matched: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_mismatch: Option<Phase>,
    /// Notes for the reader (tolerances, what was skipped and why).
    pub notes: Vec<String>,
}

fn verify_command() -> String {
    "verify".into()
}

impl Report {
    /// The report of a run of `command` about to run `selected` against `target`: no phase yet.
    pub fn new(run: &RunId, target: &Target, command: &str, selected: &[Phase]) -> Self {
        Self {
            command: command.to_owned(),
            run_id: run.to_string(),
            connection: match &target.connection {
                Connection::Embedded => "embedded".into(),
                Connection::Endpoint { url, .. } => format!("endpoint {url}"),
                Connection::Aws { .. } => "aws".into(),
            },
            region: target.region.clone(),
            started_at: eni_watch::now_rfc3339(),
            duration_s: 0.0,
            settings: target.settings.lines(),
            // A plain struct of numbers and strings: it always serializes.
            settings_json: serde_json::to_value(&target.settings).unwrap_or_default(),
            selected: selected.to_vec(),
            phases: Vec::new(),
            matched: false,
            first_mismatch: None,
            notes: Vec::new(),
        }
    }

    /// The (unwritten) report of `--plan`: nothing ran, nothing failed.
    pub fn planned(run: &RunId, target: &Target, command: &str) -> Self {
        let mut report = Self::new(run, target, command, &[]);
        report.matched = true;
        report.notes.push("--plan: every call printed, none made".into());
        report
    }

    pub fn update_verdict(&mut self) {
        let ran: Vec<&PhaseReport> = self.phases.iter().filter(|p| p.was_run()).collect();
        self.first_mismatch = ran.iter().find(|p| !p.matched()).map(|p| p.phase);
        self.matched = !ran.is_empty() && self.first_mismatch.is_none() && ran.len() == self.selected.len();
    }

    /// Writes `report.json` and `report.md` into `dir` (each atomically).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        write_atomic(&dir.join("report.json"), &serde_json::to_string_pretty(self)?)?;
        write_atomic(&dir.join("report.md"), &self.markdown())
    }

    /// `report.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let verdict = if self.matched { "every phase matched" } else { "MISMATCH" };
        let _ = writeln!(out, "# eni-lab {} {}: {verdict}\n", self.command, self.run_id);
        let _ = writeln!(
            out,
            "Connection: {} ({}), started {}, took {:.1} s. Files: `report.json`, `timeline.jsonl`, `load.json`, \
             `chart.svg`, `state.json`.\n",
            self.connection, self.region, self.started_at, self.duration_s
        );
        let _ = writeln!(out, "![ENIs and invocations over time](chart.svg)\n");
        let _ = writeln!(out, "## Summary\n\n| phase | expected | observed | verdict |\n|---|---|---|---|");
        for p in &self.phases {
            let _ = writeln!(out, "| {} | {} | {} | {} |", p.phase, cell(&p.expected), cell(&p.observed), p.verdict);
        }
        for p in self.phases.iter().filter(|p| p.was_run()) {
            let _ = writeln!(
                out,
                "\n## {} ({:.1} s → {:.1} s): {}\n\n| check | expected | observed | verdict |\n|---|---|---|---|",
                p.phase, p.started_s, p.ended_s, p.verdict
            );
            for c in &p.checks {
                let verdict = c.verdict();
                let _ =
                    writeln!(out, "| {} | {} | {} | {verdict} |", cell(&c.what), cell(&c.expected), cell(&c.observed));
            }
            if let Some(table) = p.facts.get("table").and_then(|t| t.as_str()) {
                let _ = writeln!(
                    out,
                    "\nThe ENIs as `aws ec2 describe-network-interfaces` lists them:\n\n```text\n{}\n```",
                    table.trim_end()
                );
            }
            if let Some(section) = p.facts.get("quotaModels").and_then(|t| t.as_str()) {
                let _ = writeln!(out, "\n### Quota models\n\n{}", section.trim_end());
            }
            if let Some(diff) = &p.diff {
                let _ = writeln!(out, "\n```diff\n{}\n```", diff.trim_end());
            }
        }
        let _ = writeln!(out, "\n## Settings\n\n| setting | value |\n|---|---|");
        for (name, value) in &self.settings {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Notes\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// One phase as an AWS-CLI-style table for the terminal.
pub fn terminal_table(phase: &PhaseReport) -> String {
    let rows: Vec<Vec<String>> = phase
        .checks
        .iter()
        .map(|c| vec![c.what.clone(), c.expected.clone(), c.observed.clone(), c.verdict().to_string()])
        .collect();
    let title = format!("{}: {} ({:.1} s)", phase.phase, phase.verdict, phase.ended_s - phase.started_s);
    eni_watch::table::render(&title, &["check", "expected", "observed", "verdict"], &rows)
}

/// Writes `text` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_makes_the_phase_a_mismatch_with_a_diff() {
        let checks = vec![Check::new("ENIs", "2", "2", true), Check::new("quota refusals", "10 ± 2", "20", false)];
        let phase = PhaseReport::judged(Phase::Load, checks, None, (1.0, 2.0), serde_json::Value::Null);
        assert!(!phase.matched());
        assert_eq!(phase.verdict, PhaseVerdict::Mismatch);
        assert_eq!((phase.expected.as_str(), phase.observed.as_str()), ("10 ± 2", "20"));
        assert_eq!(phase.diff.as_deref(), Some("quota refusals:\n- 10 ± 2\n+ 20\n"));
        let table = terminal_table(&phase);
        assert!(table.contains("load: MISMATCH"), "{table}");
        assert!(table.contains("quota refusals"), "{table}");

        let mut report = Report {
            command: "verify".into(),
            run_id: "r".into(),
            connection: "embedded".into(),
            region: "us-east-1".into(),
            started_at: String::new(),
            duration_s: 0.0,
            settings: vec![],
            settings_json: serde_json::Value::Null,
            selected: vec![Phase::Deploy, Phase::Load],
            phases: vec![PhaseReport::judged(Phase::Deploy, vec![], None, (0.0, 1.0), serde_json::Value::Null), phase],
            matched: true,
            first_mismatch: None,
            notes: vec![],
        };
        report.update_verdict();
        assert!(!report.matched);
        assert_eq!(report.first_mismatch, Some(Phase::Load));
        assert!(report.markdown().contains("| load | 10 ± 2 | 20 | MISMATCH |"), "{}", report.markdown());
    }

    #[test]
    fn an_information_row_is_shown_but_never_a_verdict() {
        let checks = vec![Check::info("runtimes", "2 READY", "2 READY after 1 s"), Check::new("ENIs", "2", "2", true)];
        let phase = PhaseReport::judged(Phase::Deploy, checks, None, (0.0, 1.0), serde_json::Value::Null);
        assert!(phase.matched());
        assert_eq!((phase.expected.as_str(), phase.observed.as_str()), ("2", "2"), "the summary is a verdict row");
        let table = terminal_table(&phase);
        let row = table.lines().find(|l| l.contains("runtimes")).unwrap();
        assert!(row.contains("info") && !row.contains("match"), "{table}");
        let json = serde_json::to_value(&phase.checks[0]).unwrap();
        assert_eq!(json["matched"], serde_json::Value::Null, "{json}");

        // Information rows alone cannot make a mismatch match, nor a match fail.
        let failing = vec![Check::info("runtimes", "2", "2"), Check::new("ENIs", "2", "6", false)];
        assert!(!PhaseReport::judged(Phase::Idle, failing, None, (0.0, 1.0), serde_json::Value::Null).matched());
    }
}
