//! Session ids (`runtimeSessionId`, 33..256 characters) and shards.
//!
//! Every id carries the run's random tag and the shard index, so shards of one run and separate runs
//! never share a session: `lg-<run>-s<shard>-<what>`, padded to at least 33 characters.

use std::fmt;
use std::str::FromStr;

/// AgentCore's minimum `runtimeSessionId` length.
pub const MIN_SESSION_ID_LEN: usize = 33;

/// How requests pick their session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// A new id per request (one microVM each, as the report did).
    Unique,
    /// `K` ids reused round-robin by request number (per shard).
    Pool(u32),
    /// One id per closed-model worker.
    PerWorker,
}

impl FromStr for Sessions {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "unique" => Ok(Self::Unique),
            "per-worker" => Ok(Self::PerWorker),
            _ => match text.strip_prefix("pool:").map(str::parse::<u32>) {
                Some(Ok(k)) if k > 0 => Ok(Self::Pool(k)),
                _ => Err(format!("invalid sessions {text:?}: expected `unique`, `pool:K` (K ≥ 1) or `per-worker`")),
            },
        }
    }
}

impl fmt::Display for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unique => f.write_str("unique"),
            Self::Pool(k) => write!(f, "pool:{k}"),
            Self::PerWorker => f.write_str("per-worker"),
        }
    }
}

/// Makes session ids for one shard of one run.
#[derive(Debug, Clone)]
pub struct SessionIds {
    prefix: String,
    sessions: Sessions,
}

impl SessionIds {
    /// `run` tags the run (random by default), `shard` keeps shards apart.
    pub fn new(sessions: Sessions, run: &str, shard: Shard) -> Self {
        Self { prefix: format!("lg-{run}-s{}", shard.index), sessions }
    }

    /// The id for request `seq` sent by closed-model worker `worker` (`None` in the open model).
    pub fn id(&self, seq: u64, worker: Option<u32>) -> String {
        let id = match (self.sessions, worker) {
            (Sessions::Unique, _) => format!("{}-r{seq:012}", self.prefix),
            (Sessions::Pool(k), _) => format!("{}-p{:06}", self.prefix, seq % u64::from(k)),
            (Sessions::PerWorker, Some(worker)) => format!("{}-w{worker:06}", self.prefix),
            (Sessions::PerWorker, None) => format!("{}-p{:06}", self.prefix, 0),
        };
        pad(id)
    }

    /// How these ids are picked.
    pub fn sessions(&self) -> Sessions {
        self.sessions
    }
}

fn pad(mut id: String) -> String {
    while id.len() < MIN_SESSION_ID_LEN {
        id.push('0');
    }
    id
}

/// A random 8-character run tag.
pub fn run_tag() -> String {
    (0..8).map(|_| fastrand::alphanumeric().to_ascii_lowercase()).collect()
}

/// This process's part of a multi-machine run: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard's index, from 0.
    pub index: u32,
    /// The number of shards in the run.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl Shard {
    /// The global request number of this shard's `local`-th request (shards interleave).
    pub fn global(&self, local: u64) -> u64 {
        local * u64::from(self.count) + u64::from(self.index)
    }

    /// How many of the global requests `0..total` are this shard's.
    pub fn share_of(&self, total: u64) -> u64 {
        let (count, index) = (u64::from(self.count), u64::from(self.index));
        if total <= index { 0 } else { (total - index).div_ceil(count) }
    }

    /// `I/N` from the command line, or `JOB_COMPLETION_INDEX` / `AWS_BATCH_JOB_ARRAY_INDEX` with
    /// `--shards N`.
    pub fn resolve(
        explicit: Option<&str>,
        shards: Option<u32>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        if let Some(text) = explicit {
            if shards.is_some() {
                return Err("give either --shard I/N or --shards N (with the index from the environment)".into());
            }
            return text.parse();
        }
        let Some(count) = shards else { return Ok(Self::default()) };
        let (variable, value) = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"]
            .iter()
            .find_map(|name| env(name).map(|value| (*name, value)))
            .ok_or(
                "--shards N needs the shard index in JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or \
                    AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job); or give --shard I/N",
            )?;
        let index: u32 =
            value.trim().parse().map_err(|_| format!("{variable}={value:?} is not a shard index (a number)"))?;
        Self::new(index, count)
    }

    /// Shard `index` of `count`; refuses `count == 0` and `index >= count`.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if index >= count {
            return Err(format!("shard index {index} is out of range for {count} shards (0..{count})"));
        }
        Ok(Self { index, count })
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)))
            .ok_or_else(|| format!("invalid shard {text:?}: expected I/N, e.g. 0/4 (index from 0)"))?;
        Self::new(index, count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_long_enough_and_disjoint_between_shards() {
        let a = SessionIds::new(Sessions::Unique, "abcdefgh", Shard::new(0, 2).unwrap());
        let b = SessionIds::new(Sessions::Unique, "abcdefgh", Shard::new(1, 2).unwrap());
        assert!(a.id(0, None).len() >= MIN_SESSION_ID_LEN);
        assert_ne!(a.id(0, None), b.id(0, None));
        assert_ne!(a.id(0, None), a.id(1, None));
        let pool = SessionIds::new(Sessions::Pool(3), "abcdefgh", Shard::default());
        assert_eq!(pool.id(1, None), pool.id(4, None));
        assert_ne!(pool.id(1, None), pool.id(2, None));
        let workers = SessionIds::new(Sessions::PerWorker, "abcdefgh", Shard::default());
        assert_eq!(workers.id(1, Some(7)), workers.id(99, Some(7)));
        assert!(workers.id(1, Some(7)).len() >= MIN_SESSION_ID_LEN);
    }

    #[test]
    fn parses_sessions() {
        assert_eq!("pool:5".parse::<Sessions>().unwrap(), Sessions::Pool(5));
        assert!("pool:0".parse::<Sessions>().unwrap_err().contains("pool:K"));
        assert!("many".parse::<Sessions>().is_err());
    }

    #[test]
    fn shards_split_requests_exactly() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        for total in [0, 1, 2, 3, 10, 11] {
            assert_eq!(shards.iter().map(|s| s.share_of(total)).sum::<u64>(), total);
            let mut seen: Vec<u64> = shards.iter().flat_map(|s| (0..s.share_of(total)).map(|l| s.global(l))).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..total).collect::<Vec<_>>());
        }
    }

    #[test]
    fn shard_from_flags_and_environment() {
        let none = |_: &str| None;
        assert_eq!(Shard::resolve(Some("1/4"), None, none).unwrap(), Shard { index: 1, count: 4 });
        assert!(Shard::resolve(Some("4/4"), None, none).unwrap_err().contains("out of range"));
        assert!(Shard::resolve(Some("x"), None, none).unwrap_err().contains("I/N"));
        let k8s = |name: &str| (name == "JOB_COMPLETION_INDEX").then(|| "2".to_string());
        assert_eq!(Shard::resolve(None, Some(3), k8s).unwrap(), Shard { index: 2, count: 3 });
        let batch = |name: &str| (name == "AWS_BATCH_JOB_ARRAY_INDEX").then(|| "0".to_string());
        assert_eq!(Shard::resolve(None, Some(2), batch).unwrap(), Shard { index: 0, count: 2 });
        assert!(Shard::resolve(None, Some(2), none).unwrap_err().contains("JOB_COMPLETION_INDEX"));
        assert_eq!(Shard::resolve(None, None, none).unwrap(), Shard::default());
    }
}
