//! The one table `cargo xtask bench` ends with: every comparison as a row (ours, the peer's figure or
//! the target, the ratio, met or missed), printed and written to `target/bench/summary.json`
//! and `target/bench/summary.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde_json::{Value, json};

/// Which way a figure improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Throughput: ratio = ours ÷ theirs.
    Higher,
    /// Latency, memory, time, error: ratio = theirs ÷ ours.
    Lower,
}

/// What our figure is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Reference {
    /// Another tool or server measured in the same run. `at_least`: how many times better the issue asks
    /// us to be (`None`: shown for information, no verdict).
    Peer { name: String, value: f64, at_least: Option<f64> },
    /// A fixed bound from the issue: `≥ value` when higher is better, `≤ value` when lower is.
    Target { value: f64 },
}

impl Reference {
    pub fn peer(name: impl Into<String>, value: f64, at_least: Option<f64>) -> Reference {
        Reference::Peer { name: name.into(), value, at_least }
    }

    pub fn target(value: f64) -> Reference {
        Reference::Target { value }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Measured {
        ours: f64,
        reference: Reference,
    },
    /// Not measured, and why (a peer tool missing, a build failing, …).
    Skipped(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The `cargo xtask bench` target the row comes from: agent, emulator, loadgen, criterion.
    pub bench: &'static str,
    pub comparison: String,
    pub unit: &'static str,
    pub better: Better,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// Measured against a peer the issue sets no factor for.
    Info,
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "MISSED",
            Verdict::Info => "info",
            Verdict::Skipped => "skipped",
        }
    }
}

impl Row {
    pub fn measured(
        bench: &'static str,
        comparison: impl Into<String>,
        unit: &'static str,
        better: Better,
        ours: f64,
        reference: Reference,
    ) -> Row {
        Row { bench, comparison: comparison.into(), unit, better, outcome: Outcome::Measured { ours, reference } }
    }

    pub fn skipped(bench: &'static str, comparison: impl Into<String>, why: impl Into<String>) -> Row {
        Row {
            bench,
            comparison: comparison.into(),
            unit: "",
            better: Better::Higher,
            outcome: Outcome::Skipped(why.into()),
        }
    }

    /// How many times better ours is than the reference (> 1: better; < 1: worse), whichever way the
    /// figure improves. `None` when skipped.
    pub fn factor(&self) -> Option<f64> {
        let Outcome::Measured { ours, reference } = &self.outcome else { return None };
        let theirs = match reference {
            Reference::Peer { value, .. } | Reference::Target { value } => *value,
        };
        Some(match self.better {
            Better::Higher => ours / theirs,
            Better::Lower => theirs / ours,
        })
    }

    pub fn verdict(&self) -> Verdict {
        let Outcome::Measured { reference, .. } = &self.outcome else { return Verdict::Skipped };
        let needed = match reference {
            Reference::Peer { at_least: None, .. } => return Verdict::Info,
            Reference::Peer { at_least: Some(factor), .. } => *factor,
            Reference::Target { .. } => 1.0,
        };
        // NaN (0 ÷ 0) is never met.
        if self.factor().is_some_and(|f| f >= needed) { Verdict::Met } else { Verdict::Missed }
    }

    /// E.g. "33.7× faster", "0.43× (2.3× slower)", "2.6× smaller".
    pub fn ratio_text(&self) -> String {
        let Some(factor) = self.factor() else { return String::new() };
        let (better, worse) = self.words();
        if factor.is_nan() {
            "n/a".to_owned()
        } else if factor >= 1.0 {
            format!("{}× {better}", format_factor(factor))
        } else {
            format!("{}× ({}× {worse})", format_factor(factor), format_factor(1.0 / factor))
        }
    }

    fn words(&self) -> (&'static str, &'static str) {
        match (self.unit, self.better) {
            (unit, _) if unit.ends_with("/s") => ("faster", "slower"),
            ("ms" | "s", Better::Lower) => ("faster", "slower"),
            ("MiB" | "MB" | "KiB", Better::Lower) => ("smaller", "larger"),
            (_, Better::Higher) => ("higher", "lower"),
            (_, Better::Lower) => ("lower", "higher"),
        }
    }

    pub fn ours_text(&self) -> String {
        match &self.outcome {
            Outcome::Measured { ours, .. } => format_value(*ours, self.unit),
            Outcome::Skipped(why) => format!("skipped: {}", shorten(why, SKIP_REASON_CHARS)),
        }
    }

    pub fn reference_text(&self) -> String {
        let Outcome::Measured { reference, .. } = &self.outcome else { return String::new() };
        let bound = match self.better {
            Better::Higher => "≥",
            Better::Lower => "≤",
        };
        match reference {
            Reference::Peer { name, value, at_least } => {
                let target = at_least.map(|f| format!("; target ≥ {}×", format_bound(f, ""))).unwrap_or_default();
                format!("{} ({name}){target}", format_value(*value, self.unit))
            }
            Reference::Target { value } => format!("target {bound} {}", format_bound(*value, self.unit)),
        }
    }
}

/// How much of a skip reason the table shows (the JSON keeps all of it).
const SKIP_REASON_CHARS: usize = 100;

fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() > chars {
        format!("{}…", text.chars().take(chars - 1).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// A target as the issue wrote it: whole numbers without decimals ("≤ 50 ms", "≥ 5,000 inv/s", "≥ 20×").
fn format_bound(value: f64, unit: &str) -> String {
    if value.fract() != 0.0 || !value.is_finite() {
        return format_value(value, unit);
    }
    let number = group_thousands(value as i64);
    if unit.is_empty() { number } else { format!("{number} {unit}") }
}

fn format_factor(factor: f64) -> String {
    if factor.is_infinite() {
        "∞".to_owned()
    } else if factor >= 10.0 {
        format!("{factor:.1}")
    } else {
        format!("{factor:.2}")
    }
}

/// A figure with its unit: thousands separated for big numbers, two decimals for small ones.
pub fn format_value(value: f64, unit: &str) -> String {
    let number = if !value.is_finite() {
        format!("{value}")
    } else if value.abs() >= 1000.0 {
        group_thousands(value.round() as i64)
    } else if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if unit.is_empty() { number } else { format!("{number} {unit}") }
}

fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

const HEADERS: [&str; 6] = ["bench", "comparison", "ours", "theirs / target", "ratio", "verdict"];

fn cells(row: &Row) -> [String; 6] {
    [
        row.bench.to_owned(),
        row.comparison.clone(),
        row.ours_text(),
        row.reference_text(),
        row.ratio_text(),
        row.verdict().as_str().to_owned(),
    ]
}

/// Counts of met, missed, info and skipped rows, for the line under the table.
pub fn tally(rows: &[Row]) -> String {
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict() == v).count();
    format!(
        "{} met, {} missed, {} for information, {} skipped",
        count(Verdict::Met),
        count(Verdict::Missed),
        count(Verdict::Info),
        count(Verdict::Skipped)
    )
}

/// The terminal table and the Markdown file share this layout: a pipe table padded to column widths.
pub fn render_table(rows: &[Row]) -> String {
    let all: Vec<[String; 6]> = std::iter::once(HEADERS.map(str::to_owned)).chain(rows.iter().map(cells)).collect();
    let mut widths = [0; 6];
    for line in &all {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, line) in all.iter().enumerate() {
        out.push('|');
        for (cell, width) in line.iter().zip(widths) {
            let _ = write!(out, " {cell}{} |", " ".repeat(width - cell.chars().count()));
        }
        out.push('\n');
        if i == 0 {
            out.push('|');
            for width in widths {
                let _ = write!(out, "{}|", "-".repeat(width + 2));
            }
            out.push('\n');
        }
    }
    out
}

/// What the run was: shown above the table and stored with it.
pub struct RunInfo {
    pub quick: bool,
    pub cores: usize,
    /// 1-minute load average when the run started.
    pub load_average: String,
    /// Seconds since the Unix epoch.
    pub finished_at: u64,
}

impl RunInfo {
    fn headline(&self) -> String {
        format!(
            "cargo xtask bench{}: {} cores, load average {} at the start{}",
            if self.quick { " --quick" } else { "" },
            self.cores,
            self.load_average,
            if self.quick { " (quick run: short durations, figures are a smoke test, not for the record)" } else { "" }
        )
    }
}

pub fn render_markdown(info: &RunInfo, rows: &[Row]) -> String {
    format!(
        "# Benchmark summary\n\n{}\n\n{}\n{}. Ratio: how many times better ours is (throughput: ours ÷ theirs; \
         latency, memory, time: theirs ÷ ours).\n",
        info.headline(),
        render_table(rows),
        tally(rows)
    )
}

pub fn render_terminal(info: &RunInfo, rows: &[Row]) -> String {
    format!("\n{}\n\n{}{}\n", info.headline(), render_table(rows), tally(rows))
}

pub fn render_json(info: &RunInfo, rows: &[Row]) -> String {
    let rows: Vec<Value> = rows.iter().map(row_json).collect();
    let document = json!({
        "quick": info.quick,
        "cores": info.cores,
        "load_average": info.load_average,
        "finished_at": info.finished_at,
        "rows": rows,
    });
    let mut out = serde_json::to_string_pretty(&document).expect("a JSON value always serializes");
    out.push('\n');
    out
}

/// One row of `summary.json`; figures that are not finite (0 ÷ 0) are `null`.
fn row_json(row: &Row) -> Value {
    let (ours, reference, skipped) = match &row.outcome {
        Outcome::Measured { ours, reference } => {
            let reference = match reference {
                Reference::Peer { name, value, at_least } => {
                    json!({"kind": "peer", "name": name, "value": value, "at_least": at_least})
                }
                Reference::Target { value } => json!({"kind": "target", "value": value}),
            };
            (json!(ours), reference, Value::Null)
        }
        Outcome::Skipped(why) => (Value::Null, Value::Null, json!(why)),
    };
    json!({
        "bench": row.bench,
        "comparison": row.comparison,
        "unit": row.unit,
        "better": match row.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
        },
        "ours": ours,
        "reference": reference,
        "factor": row.factor(),
        "ratio": row.ratio_text(),
        "verdict": match row.verdict() {
            Verdict::Missed => "missed",
            other => other.as_str(),
        },
        "skipped": skipped,
    })
}

/// Writes `summary.json` and `summary.md` into `dir` (called after every bench, so an interrupted
/// run keeps what it measured).
pub fn write(dir: &Path, info: &RunInfo, rows: &[Row]) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("summary.json"), render_json(info, rows))?;
    fs::write(dir.join("summary.md"), render_markdown(info, rows))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RunInfo {
        RunInfo { quick: true, cores: 2, load_average: "1.50".into(), finished_at: 0 }
    }

    #[test]
    fn higher_is_better_divides_ours_by_theirs() {
        let row = Row::measured(
            "loadgen",
            "http vs wrk",
            "req/s",
            Better::Higher,
            39_616.0,
            Reference::peer("wrk", 92_126.0, Some(1.0)),
        );
        assert!((row.factor().unwrap() - 0.43).abs() < 0.001);
        assert_eq!(row.verdict(), Verdict::Missed);
        assert_eq!(row.ratio_text(), "0.43× (2.33× slower)");

        let row = Row::measured(
            "loadgen",
            "agentcore vs boto3",
            "inv/s",
            Better::Higher,
            4_381.0,
            Reference::peer("boto3", 526.0, Some(5.0)),
        );
        assert_eq!(row.verdict(), Verdict::Met);
        assert_eq!(row.ratio_text(), "8.33× faster");
    }

    #[test]
    fn lower_is_better_divides_theirs_by_ours() {
        // Memory: 4 MiB against FastAPI's 44 MiB is 11× better, and a 10× target is met.
        let row =
            Row::measured("agent", "RSS idle", "MiB", Better::Lower, 4.0, Reference::peer("fastapi", 44.0, Some(10.0)));
        assert_eq!(row.factor(), Some(11.0));
        assert_eq!(row.verdict(), Verdict::Met);
        assert_eq!(row.ratio_text(), "11.0× smaller");
        // The same figures read the wrong way round would be 0.09× and missed.
        let flipped = Row { better: Better::Higher, ..row };
        assert_eq!(flipped.verdict(), Verdict::Missed);
    }

    #[test]
    fn targets_are_bounds_in_the_right_direction() {
        // ≤ 10 ms: 14.6 ms misses, 9.5 ms meets, exactly 10 ms meets.
        let watch =
            |ms| Row::measured("criterion", "watch diff + verdict", "ms", Better::Lower, ms, Reference::target(10.0));
        assert_eq!(watch(14.6).verdict(), Verdict::Missed);
        assert_eq!(watch(9.5).verdict(), Verdict::Met);
        assert_eq!(watch(10.0).verdict(), Verdict::Met);
        assert_eq!(watch(5.0).ratio_text(), "2.00× faster");
        assert_eq!(watch(14.6).reference_text(), "target ≤ 10 ms");
        // ≥ 5,000/s: 4,154 misses, 5,200 meets.
        let warm = |rate| Row::measured("emulator", "warm", "inv/s", Better::Higher, rate, Reference::target(5_000.0));
        assert_eq!(warm(4_154.0).verdict(), Verdict::Missed);
        assert_eq!(warm(5_200.0).verdict(), Verdict::Met);
        assert_eq!(warm(4_154.0).reference_text(), "target ≥ 5,000 inv/s");
        // Zero of a lower-is-better figure is infinitely better, not a division error.
        let zero = Row::measured("loadgen", "rate error", "%", Better::Lower, 0.0, Reference::target(1.0));
        assert_eq!(zero.verdict(), Verdict::Met);
        assert_eq!(zero.ratio_text(), "∞× lower");
        let nan = Row::measured("loadgen", "rate error", "%", Better::Lower, f64::NAN, Reference::target(1.0));
        assert_eq!(nan.verdict(), Verdict::Missed);
    }

    #[test]
    fn a_peer_without_a_factor_is_information_only() {
        let row = Row::measured("agent", "p50", "ms", Better::Lower, 1.0, Reference::peer("fastapi", 3.0, None));
        assert_eq!(row.verdict(), Verdict::Info);
        assert_eq!(row.ratio_text(), "3.00× faster");
    }

    #[test]
    fn a_missing_peer_is_a_skipped_row_in_every_output() {
        let rows = vec![
            Row::measured(
                "emulator",
                "warm invocations/s",
                "inv/s",
                Better::Higher,
                6_000.0,
                Reference::target(5_000.0),
            ),
            Row::skipped("loadgen", "http vs wrk", "`wrk` is not on PATH"),
        ];
        assert_eq!(rows[1].verdict(), Verdict::Skipped);
        assert_eq!(rows[1].factor(), None);
        let table = render_terminal(&info(), &rows);
        assert!(table.contains("| skipped: `wrk` is not on PATH |"), "{table}");
        assert!(table.contains("1 met, 0 missed, 0 for information, 1 skipped"), "{table}");
        assert!(table.contains("not for the record"), "{table}");
        let json: Value = serde_json::from_str(&render_json(&info(), &rows)).unwrap();
        assert_eq!(json["rows"][1]["verdict"], "skipped");
        assert_eq!(json["rows"][1]["skipped"], "`wrk` is not on PATH");
        assert_eq!(json["rows"][1]["ours"], Value::Null);
        assert_eq!(json["rows"][0]["ours"], 6000.0);
        assert_eq!(json["rows"][0]["reference"], json!({"kind": "target", "value": 5000.0}));
        assert_eq!(json["rows"][0]["factor"], 1.2);
        assert_eq!(json["rows"][0]["verdict"], "met");
        assert_eq!(json["load_average"], info().load_average);
    }

    #[test]
    fn the_table_is_aligned_markdown() {
        let rows = vec![
            Row::measured(
                "agent",
                "GET /ping req/s",
                "req/s",
                Better::Higher,
                92_863.0,
                Reference::peer("fastapi-plain", 2_755.0, Some(20.0)),
            ),
            Row::measured("criterion", "plan 100k runtimes", "ms", Better::Lower, 19.5, Reference::target(50.0)),
        ];
        let table = render_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("|---") && lines[1].ends_with("-|"));
        let width = |l: &str| l.chars().count();
        assert!(lines.iter().all(|l| width(l) == width(lines[0])), "{table}");
        assert!(lines[2].contains("92,863 req/s"), "{table}");
        assert!(lines[2].contains("2,755 req/s (fastapi-plain); target ≥ 20×"), "{table}");
        assert!(lines[2].contains("33.7× faster"), "{table}");
        assert!(lines[3].contains("2.56× faster") && lines[3].ends_with("| met     |"), "{table}");
    }

    #[test]
    fn the_json_keeps_odd_text_and_writes_non_finite_figures_as_null() {
        let odd = "a \"b\"\n\\c\u{1}";
        let rows = [Row::measured("agent", odd, "ms", Better::Lower, 0.0, Reference::peer(odd, 0.0, Some(2.0)))];
        let json: Value = serde_json::from_str(&render_json(&info(), &rows)).unwrap();
        assert_eq!(json["rows"][0]["comparison"], odd);
        assert_eq!(json["rows"][0]["reference"]["name"], odd);
        assert_eq!(json["rows"][0]["factor"], Value::Null, "0 ÷ 0");
        assert_eq!(json["rows"][0]["verdict"], "missed");
    }

    #[test]
    fn values_and_bounds_read_well() {
        assert_eq!(format_value(1_234_567.0, ""), "1,234,567");
        assert_eq!(format_value(-1_234.0, "ms"), "-1,234 ms");
        assert_eq!(format_value(4.091, "MiB"), "4.09 MiB");
        assert_eq!(format_bound(5.0, "MB"), "5 MB");
        assert_eq!(format_bound(32.75, "ms"), "32.8 ms");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
