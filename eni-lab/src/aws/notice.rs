//! The cost and quota notice printed before anything is created in a real account, and its y/N
//! prompt (`--yes` skips it; without a terminal on stdin and without `--yes`, nothing is created).

use std::io::{BufRead, IsTerminal, Write};

/// What the run is about to create, for the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub region: Option<String>,
    /// NAT gateways the run creates (0 with `--vpc-id`).
    pub nat_gateways: u32,
    /// Public IPv4 addresses (the NAT gateway's elastic IP).
    pub elastic_ips: u32,
    /// Agent runtimes the run deploys (0 when only the network and role are set up).
    pub runtimes: u32,
}

/// AgentCore's active-session quota per account (L-3E5722B2, adjustable) in `region`, as documented
/// in June 2026: 5,000 in us-east-1 and us-west-2, 2,500 elsewhere.
pub fn session_quota(region: &str) -> u32 {
    if matches!(region, "us-east-1" | "us-west-2") { 5_000 } else { 2_500 }
}

impl Notice {
    /// The notice text.
    pub fn text(&self) -> String {
        let region = self.region.as_deref().unwrap_or("your default region");
        let mut lines = vec![format!("This creates billable resources in your AWS account ({region}):")];
        if self.nat_gateways > 0 {
            lines.push(format!(
                "  - {} NAT gateway(s): billed per hour while they exist (about USD 0.045/hour each in us-east-1, \
                 about USD 33/month) plus per GB processed",
                self.nat_gateways
            ));
        }
        if self.elastic_ips > 0 {
            lines.push(format!(
                "  - {} elastic IP address(es): public IPv4 addresses are billed per hour (about USD 0.005/hour each)",
                self.elastic_ips
            ));
        }
        if self.runtimes > 0 {
            lines.push(format!(
                "  - {} AgentCore runtime(s): billed per second of CPU and memory while sessions are active",
                self.runtimes
            ));
        }
        let quota = self.region.as_deref().map_or_else(
            || "5,000 in us-east-1 and us-west-2, 2,500 in other regions".to_owned(),
            |r| format!("{} in {r}", group_thousands(session_quota(r))),
        );
        lines.push(format!(
            "  - the load phase opens a new session (one microVM) per request until the account's active-session \
             quota ({quota} by default, shared with everything else in the account) answers \
             ServiceQuotaExceededException: other AgentCore workloads in the account are refused meanwhile"
        ));
        lines.push(
            "  - AgentCore ENIs may linger up to 8 hours after the runtimes are deleted; the security group, subnets \
             and VPC cannot be deleted before, so the NAT gateway keeps billing until `cargo xtask destroy --aws --resume` \
             finishes (run it again later if it stops early)"
                .to_owned(),
        );
        lines.join("\n")
    }
}

fn group_thousands(n: u32) -> String {
    let text = n.to_string();
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i > 0 && (text.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why nothing was created.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Declined {
    #[error("stdin is not a terminal, so the cost notice cannot be confirmed: pass --yes to accept it")]
    NotInteractive,
    #[error("not confirmed: nothing was created")]
    Refused,
}

/// Prints `notice` (to stderr) and asks y/N on stdin, unless `yes`.
pub fn confirm(notice: &Notice, yes: bool) -> Result<(), Declined> {
    eprintln!("{}", notice.text());
    if yes {
        eprintln!("(--yes: going ahead)");
        return Ok(());
    }
    match ask_yes_no("Continue? [y/N] ") {
        None => Err(Declined::NotInteractive),
        Some(false) => Err(Declined::Refused),
        Some(true) => Ok(()),
    }
}

/// Asks `question` (a y/N prompt, on stderr) and reads the answer from stdin: `None` when stdin is
/// not a terminal to ask on.
pub fn ask_yes_no(question: &str) -> Option<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = stdin.lock().read_line(&mut answer);
    Some(answer_is_yes(&answer))
}

/// `y` or `yes`, any case; anything else (including nothing) is no.
pub fn answer_is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_names_nat_hours_and_the_session_quota_of_the_region() {
        let notice = Notice { region: Some("ap-northeast-1".into()), nat_gateways: 1, elastic_ips: 1, runtimes: 10 };
        let text = notice.text();
        assert!(text.contains("1 NAT gateway(s)"), "{text}");
        assert!(text.contains("per hour"), "{text}");
        assert!(text.contains("2,500 in ap-northeast-1"), "{text}");
        assert!(text.contains("10 AgentCore runtime(s)"), "{text}");
        let existing = Notice { region: Some("us-east-1".into()), nat_gateways: 0, elastic_ips: 0, runtimes: 0 };
        assert!(!existing.text().contains("NAT gateway(s)"));
        assert!(existing.text().contains("5,000 in us-east-1"));
    }

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y\n", " yes ", "YES"] {
            assert!(answer_is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "sure"] {
            assert!(!answer_is_yes(no), "{no:?}");
        }
    }
}
