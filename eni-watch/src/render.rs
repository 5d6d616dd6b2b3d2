//! Human-readable lines for a watch in progress and its summary.

use std::fmt::Write as _;

use crate::eni::Eni;
use crate::timeline::{Change, Item, StopReason, Summary};

fn eni_line(eni: &Eni) -> String {
    let zone = if eni.az_id.is_empty() { &eni.az } else { &eni.az_id };
    format!(
        "{} {} {zone} {} [{}] {} {}",
        eni.id,
        eni.subnet,
        eni.private_ip.as_deref().unwrap_or("-"),
        eni.security_group_set(),
        eni.interface_type,
        eni.status
    )
}

/// A change on one line: `+` added, `-` removed, `~` changed.
pub fn change_line(change: &Change) -> String {
    match change {
        Change::Added { eni } => format!("+ {}", eni_line(eni)),
        Change::Removed { eni } => format!("- {}", eni_line(eni)),
        Change::IpChanged { id, from, to } => {
            format!("~ {id} ip {} -> {}", from.as_deref().unwrap_or("-"), to.as_deref().unwrap_or("-"))
        }
        Change::StatusChanged { id, from, to } => format!("~ {id} status {from} -> {to}"),
        Change::SecurityGroupsChanged { id, from, to } => {
            format!("~ {id} security groups [{}] -> [{}]", from.join(","), to.join(","))
        }
    }
}

/// The line(s) to print for an item while watching (no trailing newline), or `None`.
pub fn item_lines(item: &Item) -> Option<String> {
    match item {
        Item::Start(start) => {
            let ty = start.interface_type.as_deref().unwrap_or("all");
            let filters = if start.filters.is_empty() { "no filter".to_string() } else { start.filters.join(" ") };
            let mut line = format!("watching {ty} ENIs ({filters})");
            if let Some(expectation) = &start.expectation {
                let _ = write!(line, ", expecting {expectation}");
            }
            Some(line)
        }
        Item::Sample(sample) => {
            let mut line = format!("{}  #{}  {} ENIs", sample.at, sample.seq, sample.count);
            if let Some(check) = &sample.check {
                line.push_str(if check.ok { "  ok" } else { "  MISMATCH" });
                if let Some(diff) = &check.diff {
                    for diff_line in diff.lines() {
                        let _ = write!(line, "\n    {diff_line}");
                    }
                }
            }
            Some(line)
        }
        Item::Event(event) => Some(format!("    {}", change_line(&event.change))),
        Item::Gap(gap) => Some(format!(
            "{}  #{}  gap: {}: {} (failure {} in a row, retry in {:.1}s)",
            gap.at, gap.seq, gap.code, gap.message, gap.consecutive, gap.retry_in_s
        )),
        Item::Summary(_) => None,
    }
}

/// A summary as a few lines of text.
pub fn summary_text(summary: &Summary) -> String {
    let mut out = String::new();
    let count = |c: Option<usize>| c.map_or("-".to_string(), |c| c.to_string());
    let _ = writeln!(
        out,
        "summary: {} samples, {} events, {} gaps over {:.1}s (stopped: {})",
        summary.samples,
        summary.events,
        summary.gaps,
        summary.duration_s,
        match summary.stop {
            StopReason::Duration => "duration elapsed",
            StopReason::Interrupted => "interrupted",
            StopReason::Gone => "no ENI left",
            StopReason::Once => "one snapshot",
            StopReason::Truncated => "recording ends without a summary",
        }
    );
    let _ = writeln!(
        out,
        "  ENI count: min {}, max {}, last {}; distinct ENIs seen: {}",
        count(summary.min_count),
        count(summary.max_count),
        count(summary.last_count),
        summary.distinct_enis
    );
    for (subnet, c) in &summary.per_subnet {
        let _ = writeln!(out, "  subnet {subnet}: min {} max {} last {}", c.min, c.max, c.last);
    }
    for (set, c) in &summary.per_security_group_set {
        let _ = writeln!(out, "  security groups [{set}]: min {} max {} last {}", c.min, c.max, c.last);
    }
    for (code, n) in &summary.gap_codes {
        let _ = writeln!(out, "  gaps {code}: {n}");
    }
    if let Some(e) = &summary.expectation {
        if e.all_matched {
            let _ = writeln!(out, "  expectation: all {} samples matched", e.checked);
        } else {
            let _ = writeln!(out, "  expectation: {} of {} samples did NOT match", e.mismatched, e.checked);
            if let Some(first) = &e.first_mismatch {
                let _ = writeln!(out, "  first mismatch (#{} at {}):", first.seq, first.at);
                for line in first.diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    }
    out
}
