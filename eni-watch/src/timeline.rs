//! The timeline a watch records: a start line, samples, the events between them, gaps, and a
//! summary. Each item is one JSON object (one line of a JSON Lines file), tagged by `type`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::eni::Eni;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    /// The first line: what is watched.
    Start(Start),
    /// A successful poll.
    Sample(Sample),
    /// A change since the last good sample.
    Event(Event),
    /// A failed poll.
    Gap(Gap),
    /// The last line.
    Summary(Summary),
}

/// What is watched, written first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// RFC 3339, UTC.
    pub at: String,
    /// The `DescribeNetworkInterfaces` filters, as `name=value1,value2`.
    pub filters: Vec<String>,
    /// ENIs of other interface types are dropped client-side (`None`: every type is kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_type: Option<String>,
    /// The expectation samples are checked against, described in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<String>,
}

/// One successful poll: every matching ENI at that moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Poll number, counting gaps too (1, 2, …).
    pub seq: u64,
    /// When the poll answered, RFC 3339, UTC.
    pub at: String,
    /// Seconds since the watch started.
    pub t: f64,
    /// The number of ENIs.
    pub count: usize,
    /// Sorted by zone, subnet, private IP, id.
    pub enis: Vec<Eni>,
    /// `DescribeNetworkInterfaces` calls this sample took (pages).
    pub pages: u32,
    /// How the sample compares with the expectation, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
}

/// A change between two good samples (the previous one and the one at `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The poll number of the sample that showed the change.
    pub seq: u64,
    /// When that sample was taken, RFC 3339, UTC.
    pub at: String,
    /// Seconds since the watch started.
    pub t: f64,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// What changed about one ENI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A new ENI.
    Added {
        /// The ENI as first seen.
        eni: Eni,
    },
    /// An ENI gone.
    Removed {
        /// The ENI as last seen.
        eni: Eni,
    },
    /// The primary private IP changed.
    IpChanged {
        /// The ENI id.
        id: String,
        /// The address before.
        from: Option<String>,
        /// The address after.
        to: Option<String>,
    },
    /// EC2's status changed (`in-use` → `available`, …).
    StatusChanged {
        /// The ENI id.
        id: String,
        /// The status before.
        from: String,
        /// The status after.
        to: String,
    },
    /// The set of security groups changed.
    SecurityGroupsChanged {
        /// The ENI id.
        id: String,
        /// The group ids before.
        from: Vec<String>,
        /// The group ids after.
        to: Vec<String>,
    },
}

impl Change {
    /// The ENI id the change is about.
    pub fn id(&self) -> &str {
        match self {
            Change::Added { eni } | Change::Removed { eni } => &eni.id,
            Change::IpChanged { id, .. }
            | Change::StatusChanged { id, .. }
            | Change::SecurityGroupsChanged { id, .. } => id,
        }
    }

    /// `added`, `removed`, `ip_changed`, …
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Added { .. } => "added",
            Change::Removed { .. } => "removed",
            Change::IpChanged { .. } => "ip_changed",
            Change::StatusChanged { .. } => "status_changed",
            Change::SecurityGroupsChanged { .. } => "security_groups_changed",
        }
    }
}

/// A poll that failed. Polling goes on after `retry_in_s`; the next good sample is diffed against
/// the last good one, so no change is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Poll number (samples and gaps share the count).
    pub seq: u64,
    /// When the poll failed, RFC 3339, UTC.
    pub at: String,
    /// Seconds since the watch started.
    pub t: f64,
    /// The AWS error code (`RequestLimitExceeded`, `InternalError`, …), or `HTTP 500` for an error
    /// without one, `ConnectError`, `Timeout`.
    pub code: String,
    /// The error message.
    pub message: String,
    /// Failed polls in a row, this one included.
    pub consecutive: u32,
    /// Seconds of backoff before the next poll.
    pub retry_in_s: f64,
}

/// How a sample compares with the expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Whether the sample matches.
    pub ok: bool,
    /// The fewest ENIs that match.
    pub expected_min: usize,
    /// The most ENIs that match.
    pub expected_max: usize,
    /// The ENIs in the sample.
    pub observed: usize,
    /// The diff (`eni_model::Verdict` display) when the sample does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `--duration` elapsed.
    Duration,
    /// Ctrl-C, SIGTERM, or the caller stopped the task.
    Interrupted,
    /// `--until-gone`: no matching ENI is left.
    Gone,
    /// A single snapshot.
    Once,
    /// The file ended without a summary (an interrupted recording, summarised afterwards).
    Truncated,
}

/// Counts of one subnet or one security-group set over the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// The fewest ENIs in any sample.
    pub min: usize,
    /// The most ENIs in any sample.
    pub max: usize,
    /// The ENIs in the last sample.
    pub last: usize,
}

/// The first sample that did not match the expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The sample's poll number.
    pub seq: u64,
    /// When it was taken, RFC 3339, UTC.
    pub at: String,
    /// Seconds since the watch started.
    pub t: f64,
    /// The verdict's diff.
    pub diff: String,
}

/// How the samples held up against the expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationSummary {
    /// Samples checked.
    pub checked: u64,
    /// Samples that did not match.
    pub mismatched: u64,
    /// Whether every checked sample matched.
    pub all_matched: bool,
    /// The first sample that did not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_mismatch: Option<Mismatch>,
}

/// The last line of a watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Why the watch ended.
    pub stop: StopReason,
    /// When the watch started, RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended, RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Seconds from the start to the last item.
    pub duration_s: f64,
    /// Successful polls.
    pub samples: u64,
    /// Failed polls.
    pub gaps: u64,
    /// Changes seen.
    pub events: u64,
    /// The fewest ENIs in a sample (`None` without samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_count: Option<usize>,
    /// The most ENIs in a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<usize>,
    /// The ENIs in the last sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_count: Option<usize>,
    /// Distinct ENI ids ever seen.
    pub distinct_enis: usize,
    /// ENI counts per subnet id.
    pub per_subnet: BTreeMap<String, Counts>,
    /// Keyed by the sorted security-group ids joined by commas.
    pub per_security_group_set: BTreeMap<String, Counts>,
    /// Gaps by error code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gap_codes: BTreeMap<String, u64>,
    /// How the samples held up, when an expectation was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expectation: Option<ExpectationSummary>,
}

impl Summary {
    /// Whether every checked sample matched (`true` when nothing was checked).
    pub fn all_matched(&self) -> bool {
        self.expectation.as_ref().is_none_or(|e| e.all_matched)
    }
}

/// Builds a [`Summary`] from the items as they come; the watcher and `eni-watch report` (for a
/// file that ends without one) share it.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    started_at: Option<String>,
    last_at: Option<String>,
    last_t: f64,
    samples: u64,
    gaps: u64,
    events: u64,
    min_count: Option<usize>,
    max_count: Option<usize>,
    last_count: Option<usize>,
    seen: BTreeSet<String>,
    per_subnet: BTreeMap<String, Counts>,
    per_set: BTreeMap<String, Counts>,
    gap_codes: BTreeMap<String, u64>,
    checked: u64,
    mismatched: u64,
    first_mismatch: Option<Mismatch>,
}

fn update_counts(table: &mut BTreeMap<String, Counts>, now: BTreeMap<String, usize>, first_sample: bool) {
    for (key, counts) in table.iter_mut() {
        let n = now.get(key).copied().unwrap_or(0);
        counts.min = counts.min.min(n);
        counts.max = counts.max.max(n);
        counts.last = n;
    }
    for (key, n) in now {
        table.entry(key).or_insert(Counts { min: if first_sample { n } else { 0 }, max: n, last: n });
    }
}

impl Tally {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one item (a summary item is ignored).
    pub fn add(&mut self, item: &Item) {
        match item {
            Item::Start(start) => {
                self.started_at.get_or_insert_with(|| start.at.clone());
                self.last_at = Some(start.at.clone());
            }
            Item::Sample(sample) => {
                let first = self.samples == 0;
                self.samples += 1;
                self.touch(&sample.at, sample.t);
                let n = sample.count;
                self.min_count = Some(self.min_count.map_or(n, |m| m.min(n)));
                self.max_count = Some(self.max_count.map_or(n, |m| m.max(n)));
                self.last_count = Some(n);
                let mut subnets: BTreeMap<String, usize> = BTreeMap::new();
                let mut sets: BTreeMap<String, usize> = BTreeMap::new();
                for eni in &sample.enis {
                    if !self.seen.contains(&eni.id) {
                        self.seen.insert(eni.id.clone());
                    }
                    *subnets.entry(eni.subnet.to_string()).or_default() += 1;
                    *sets.entry(eni.security_group_set()).or_default() += 1;
                }
                update_counts(&mut self.per_subnet, subnets, first);
                update_counts(&mut self.per_set, sets, first);
                if let Some(check) = &sample.check {
                    self.checked += 1;
                    if !check.ok {
                        self.mismatched += 1;
                        self.first_mismatch.get_or_insert_with(|| Mismatch {
                            seq: sample.seq,
                            at: sample.at.clone(),
                            t: sample.t,
                            diff: check.diff.clone().unwrap_or_default(),
                        });
                    }
                }
            }
            Item::Event(event) => {
                self.events += 1;
                self.touch(&event.at, event.t);
            }
            Item::Gap(gap) => {
                self.gaps += 1;
                self.touch(&gap.at, gap.t);
                *self.gap_codes.entry(gap.code.clone()).or_default() += 1;
            }
            Item::Summary(_) => {}
        }
    }

    fn touch(&mut self, at: &str, t: f64) {
        self.last_at = Some(at.to_string());
        self.last_t = self.last_t.max(t);
    }

    /// The summary so far. `ended_at`/`duration_s` default to the last item's time.
    pub fn summary(&self, stop: StopReason, ended: Option<(String, f64)>) -> Summary {
        let (ended_at, duration_s) = match ended {
            Some((at, t)) => (Some(at), t),
            None => (self.last_at.clone(), self.last_t),
        };
        Summary {
            stop,
            started_at: self.started_at.clone(),
            ended_at,
            duration_s,
            samples: self.samples,
            gaps: self.gaps,
            events: self.events,
            min_count: self.min_count,
            max_count: self.max_count,
            last_count: self.last_count,
            distinct_enis: self.seen.len(),
            per_subnet: self.per_subnet.clone(),
            per_security_group_set: self.per_set.clone(),
            gap_codes: self.gap_codes.clone(),
            expectation: (self.checked > 0).then(|| ExpectationSummary {
                checked: self.checked,
                mismatched: self.mismatched,
                all_matched: self.mismatched == 0,
                first_mismatch: self.first_mismatch.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64, subnets: &[&str]) -> Item {
        let enis = subnets
            .iter()
            .enumerate()
            .map(|(i, s)| Eni {
                id: format!("eni-{s}-{i}"),
                subnet: s.parse().unwrap(),
                az: String::new(),
                az_id: String::new(),
                vpc: "vpc-0aaaaaaaaaaaaaaaa".parse().unwrap(),
                security_groups: vec!["sg-0aaaaaaaaaaaaaaaa".parse().unwrap()],
                private_ip: None,
                interface_type: "agentic_ai".into(),
                status: "in-use".into(),
                requester_managed: true,
                tags: BTreeMap::new(),
            })
            .collect::<Vec<_>>();
        Item::Sample(Sample {
            seq,
            at: format!("t{seq}"),
            t: seq as f64,
            count: enis.len(),
            enis,
            pages: 1,
            check: None,
        })
    }

    #[test]
    fn counts_per_subnet_include_the_samples_where_it_had_none() {
        let (a, b) = ("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb");
        let mut tally = Tally::new();
        for item in [sample(1, &[a]), sample(2, &[a, b, b]), sample(3, &[b])] {
            tally.add(&item);
        }
        let summary = tally.summary(StopReason::Truncated, None);
        assert_eq!(summary.per_subnet[a], Counts { min: 0, max: 1, last: 0 });
        assert_eq!(summary.per_subnet[b], Counts { min: 0, max: 2, last: 1 });
        assert_eq!((summary.min_count, summary.max_count, summary.last_count), (Some(1), Some(3), Some(1)));
        assert_eq!(summary.per_security_group_set["sg-0aaaaaaaaaaaaaaaa"], Counts { min: 1, max: 3, last: 1 });
        assert_eq!((summary.ended_at.as_deref(), summary.duration_s), (Some("t3"), 3.0));
        assert!(summary.all_matched(), "nothing checked");
    }
}
