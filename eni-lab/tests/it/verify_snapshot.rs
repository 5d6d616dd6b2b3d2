//! What `eni-lab verify` shows, pinned by snapshots: the terminal output of a short run of the default
//! phases against the embedded emulator (stdout's phase tables between stderr's headers, as a terminal
//! interleaves them) and its `report.md`. Ids, addresses, ports, times and the numbers that depend on
//! timing (call counts, samples, durations) are redacted by insta filters; table padding and borders
//! are normalised first, so a redacted value of another width gives the same snapshot.
//!
//! The README's sample output is this run's output: `UPDATE_README=1 cargo test -p eni-lab --test it
//! readme` rewrites the block from a fresh run; without it the test checks that the block, redacted
//! the same way, equals the run's abridged output (itself pinned by a snapshot).

use std::io::Read;
use std::path::Path;

use crate::support::{FAST_VERIFY, eni_lab, scratch};

/// Where the README's sample output starts: the first ```` ```text ```` block after this heading.
const README_SECTION: &str = "## `cargo xtask verify`";

/// The phases whose tables the README leaves out (`report.md` has every table).
const ABRIDGED_PHASES: [&str; 2] = ["deploy", "teardown"];

/// The insta filters: ids, addresses, ports, times and timing-dependent numbers. They run on text
/// whose tables [`normalise_tables`] has already made padding-free.
fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b\d{8}-\d{6}-[0-9a-f]{4}\b", "[run-id]"),
        (r"\b(vpc|subnet|sg|eni)-[0-9a-f]{17}\b", "${1}-[id]"),
        (r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:[port]"),
        (r"\b10\.\d+\.\d+\.\d+\b", "[ip]"),
        (r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
        // Durations measured, not configured.
        (r"\(\d+(\.\d+)? s → \d+(\.\d+)? s\)", "([start] → [end])"),
        (r"\b(after|took) \d+(\.\d+)? s\b", "${1} [duration]"),
        (r"\(\d+(\.\d+)? s\)", "([duration])"),
        // The load's counts.
        (r"\b\d+ \(\d+ failed poll\(s\)\)", "[n] ([n] failed poll(s))"),
        (r"\bin all \d+ samples\b", "in all [n] samples"),
        (
            r"(\| (?:invocations ok \(admitted by the quota model\)|ServiceQuotaExceededException) \| )\d+( \(± \d+\) \| )\d+ \|",
            "${1}[n]${2}[n] |",
        ),
        (r"(\| other failures \| ≤ \d+ \| )\d+ \|", "${1}[n] |"),
        (r"\b\d+ datapoints of 60 s\b", "[n] datapoints of 60 s"),
        (r"\(profile distances: [^)]*\)", "(profile distances: [distances])"),
        // The quota study's figures are timing-dependent (its own tests pin them down).
        (r"(?s)(### Quota models\n).*?\n(## )", "${1}\n[fits and profiles of this run]\n\n${2}"),
        // The teardown's retries of the security group.
        (r"\brefused \d+× with\b", "refused [n]× with"),
    ]
}

/// The tables of `text` without padding: a row `|  a  |  b |` becomes `| a | b |`, a border
/// `+-----+---+` becomes `+-+-+`, a rule `-------` becomes `-`. Other lines are kept as they are.
fn normalise_tables(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_end();
        let is_border = trimmed.len() > 1 && trimmed.chars().all(|c| c == '-' || c == '+' || c == '|');
        if is_border {
            let mut collapsed = String::new();
            for c in trimmed.chars() {
                if !(c == '-' && collapsed.ends_with('-')) {
                    collapsed.push(c);
                }
            }
            out.push_str(&collapsed);
        } else if trimmed.len() > 1 && trimmed.starts_with('|') && trimmed.ends_with('|') {
            let cells: Vec<&str> = trimmed[1..trimmed.len() - 1].split('|').map(str::trim).collect();
            out.push_str(&format!("| {} |", cells.join(" | ")));
        } else {
            out.push_str(trimmed);
        }
        out.push('\n');
    }
    out
}

/// Whether `line` is a log line (`2026-01-01T00:00:00.000000Z  WARN target: …`), not part of what
/// verify prints.
fn is_log_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let (Some(time), Some(level)) = (words.next(), words.next()) else { return false };
    let looks_like_time = time.len() > 20 && time.as_bytes()[4] == b'-' && time.contains('T') && time.ends_with('Z');
    looks_like_time && ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level)
}

/// The terminal output as the README shows it: the tables of [`ABRIDGED_PHASES`] (everything from
/// their `== phase` line to the next `== ` line, or to the closing `verify …` line) replaced by `…`.
fn abridge(terminal: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in terminal.lines() {
        if let Some(phase) = line.strip_prefix("== ") {
            skipping = ABRIDGED_PHASES.contains(&phase);
            out.push_str(line);
            out.push('\n');
            if skipping {
                out.push_str("…\n");
            }
            continue;
        }
        if skipping && line.starts_with("verify ") {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The README's sample-output block: its text, and the byte range of that text in `readme`.
fn readme_block(readme: &str) -> (String, std::ops::Range<usize>) {
    let section = readme.find(README_SECTION).expect("the README has the verify section");
    let open = "```text\n";
    let start = section + readme[section..].find(open).expect("a ```text block in the verify section") + open.len();
    let end = start + readme[start..].find("```\n").expect("the block is closed");
    (readme[start..end].to_owned(), start..end)
}

#[test]
fn verify_prints_the_tables_and_writes_the_report_the_snapshots_and_the_readme_show() {
    let runs = scratch("verify-snapshot");
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    let mut command = eni_lab(&runs);
    command.args([&["verify"], FAST_VERIFY].concat());
    command.stdout(writer.try_clone().expect("clone the pipe")).stderr(writer);
    let mut child = command.spawn().expect("start eni-lab verify");
    // The pipe ends once every process holding it has exited, the test's copies dropped here.
    drop(command);
    let mut raw = String::new();
    reader.read_to_string(&mut raw).expect("read verify's output");
    let status = child.wait().expect("wait for eni-lab verify");
    assert_eq!(status.code(), Some(0), "{raw}");

    // The runs directory as the README's readers have it.
    let runs_dir = runs.display().to_string();
    let terminal: String = raw
        .replace(&runs_dir, "target/verify")
        .lines()
        .filter(|line| !is_log_line(line))
        .map(|line| format!("{line}\n"))
        .collect();
    let run_dir = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("report.md").is_file())
        .expect("a run directory with report.md");
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    let sample = abridge(&terminal);

    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (block, range) = readme_block(&readme);
    if std::env::var_os("UPDATE_README").is_some() {
        let mut updated = readme.clone();
        updated.replace_range(range, &sample);
        std::fs::write(&readme_path, updated).unwrap();
    }

    insta::with_settings!({ filters => redactions() }, {
        insta::assert_snapshot!("verify_terminal", normalise_tables(&terminal));
        insta::assert_snapshot!("verify_report_md", normalise_tables(&report));
        insta::assert_snapshot!("readme_sample", normalise_tables(&sample));
    });
    // The README's block is this run's output but for what the filters redact. Compared here, not
    // through insta, so that accepting snapshots (`INSTA_UPDATE=always`) can never accept a stale
    // README: after an intended change, `UPDATE_README=1 cargo test -p eni-lab --test it readme`.
    if std::env::var_os("UPDATE_README").is_none() {
        assert_eq!(
            redacted(&normalise_tables(&block)),
            redacted(&normalise_tables(&sample)),
            "README.md's sample output is not what verify prints: run \
             `UPDATE_README=1 cargo test -p eni-lab --test it readme` and commit README.md"
        );
    }
}

/// `text` with [`redactions`] applied, in order, as insta applies its filters.
fn redacted(text: &str) -> String {
    redactions().into_iter().fold(text.to_owned(), |text, (pattern, replacement)| {
        regex::Regex::new(pattern).expect("a valid redaction").replace_all(&text, replacement).into_owned()
    })
}

#[test]
fn tables_of_other_widths_normalise_alike_and_abridging_keeps_the_headers() {
    let narrow = "|  a  | b |\n+-----+---+\n";
    let wide = "|  a      |      b   |\n+---------+----------+\n";
    assert_eq!(normalise_tables(narrow), normalise_tables(wide));
    assert_eq!(normalise_tables(narrow), "| a | b |\n+-+-+\n");
    assert!(is_log_line("2026-12-02T06:57:09.158127Z  WARN eni_lab::teardown: x"));
    assert!(!is_log_line("run 20261202-065658-bac5: target/verify/20261202-065658-bac5"));
    let terminal = "run x\n== deploy\n|d|\n== idle\n|i|\n== teardown\n|t|\nverify x: every phase matched\n";
    assert_eq!(abridge(terminal), "run x\n== deploy\n…\n== idle\n|i|\n== teardown\n…\nverify x: every phase matched\n");
}
