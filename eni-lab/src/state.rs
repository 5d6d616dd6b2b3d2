//! The state file `target/verify/<run-id>/state.json`: what a run created, rewritten (atomically)
//! after every create and delete, so that `destroy` finds everything even after a SIGKILL. The tags
//! ([`crate::run::RUN_TAG`]) are the other half: destroy looks both ways.
//!
//! A state file is input like any other: [`RunState::load`] reads at most [`MAX_STATE_FILE_BYTES`],
//! checks the run id with [`RunId::parse`] (the command line's check), the number of resources
//! ([`MAX_RESOURCES`]) and their ids, and that the file lives in its run's directory; anything else
//! is a [`StateFileError`] naming the file. `destroy` reports such a file and skips it
//! ([`RunState::unfinished`]); the other runs are still destroyed.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::run::{Connection, ConnectionKind, RunId};

/// The largest state file read. A run lists at most [`MAX_RESOURCES`] entries of well under 1 KiB
/// each; anything much bigger was not written by this tool.
pub const MAX_STATE_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// The most resources a state file may list. A run creates at most 1,000 runtimes (the `--runtimes`
/// range) plus a network of a few dozen pieces, a role and a repository; ten times that is headroom.
pub const MAX_RESOURCES: usize = 10_000;

/// The longest resource id or ARN accepted (IAM's and AgentCore's ARN limit is 2,048 characters;
/// ids and names are shorter).
pub const MAX_ID_LEN: usize = 2048;

/// A state file that cannot be used, and why; its message starts with the file's path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct StateFileError {
    pub path: PathBuf,
    pub problem: StateFileProblem,
}

/// What is wrong with a state file.
#[derive(Debug, thiserror::Error)]
pub enum StateFileProblem {
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    #[error("more than {MAX_STATE_FILE_BYTES} bytes: not a state file this tool wrote")]
    TooLarge,
    /// Not JSON, the wrong shape, or a run id that fails [`RunId::parse`].
    #[error("not a run state file: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("{0} resources, more than a run creates (at most {MAX_RESOURCES})")]
    TooManyResources(usize),
    #[error("resource {index}: {why}")]
    BadResource { index: usize, why: &'static str },
    #[error("it names run {run} but lives in directory {dir:?}")]
    Misplaced { run: RunId, dir: String },
}

/// What kind of resource an entry is; the order of deletion is the reverse of this list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    EcrRepository,
    IamRole,
    Vpc,
    InternetGateway,
    Subnet,
    RouteTable,
    VpcEndpoint,
    ElasticIp,
    NatGateway,
    SecurityGroup,
    AgentRuntime,
}

/// One resource a run created.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub kind: Kind,
    /// The id AWS gave it (`vpc-…`, `sg-…`, the agent runtime id, the role or repository name).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Set once destroy (or the verify teardown) deleted it.
    #[serde(default)]
    pub deleted: bool,
}

/// The whole state file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    pub run_id: RunId,
    pub connection: Connection,
    /// The phase running or last run (`deploy`, `idle`, `load`, `sg-split`, `teardown`, `destroy`).
    pub phase: String,
    pub resources: Vec<Resource>,
    /// True once nothing of the run is left.
    #[serde(default)]
    pub finished: bool,
    /// Emulator or real account, recorded when the run starts; a file without it (written before
    /// it was recorded) counts as a real account, the safe side (see [`ConnectionKind`]).
    #[serde(default)]
    pub connection_kind: ConnectionKind,
    /// Where the file lives: where it was loaded from, else [`RunState::path`] of the run.
    #[serde(skip)]
    file: Option<PathBuf>,
}

/// What [`RunState::unfinished`] found.
#[derive(Debug, Default)]
pub struct Unfinished {
    /// Runs not finished, oldest first.
    pub states: Vec<RunState>,
    /// State files that could not be used, each with why.
    pub skipped: Vec<StateFileError>,
}

impl RunState {
    pub fn new(run_id: RunId, connection: Connection) -> Self {
        let connection_kind = connection.kind();
        Self {
            run_id,
            connection,
            phase: "deploy".into(),
            resources: Vec::new(),
            finished: false,
            connection_kind,
            file: None,
        }
    }

    pub fn path(run: &RunId) -> PathBuf {
        run.dir().join("state.json")
    }

    /// Records a created resource and saves.
    pub fn created(&mut self, kind: Kind, id: impl Into<String>, arn: Option<String>) -> anyhow::Result<()> {
        self.resources.push(Resource { kind, id: id.into(), arn, deleted: false });
        self.save()
    }

    /// Marks a resource deleted and saves.
    pub fn deleted(&mut self, kind: Kind, id: &str) -> anyhow::Result<()> {
        for resource in &mut self.resources {
            if resource.kind == kind && resource.id == id {
                resource.deleted = true;
            }
        }
        self.save()
    }

    pub fn set_phase(&mut self, phase: &str) -> anyhow::Result<()> {
        phase.clone_into(&mut self.phase);
        self.save()
    }

    /// Resources not yet deleted.
    pub fn live(&self) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(|r| !r.deleted)
    }

    /// Writes the file atomically (temporary file + rename), creating the run directory: where it
    /// was loaded from, else at [`RunState::path`].
    pub fn save(&self) -> anyhow::Result<()> {
        let path = self.file.clone().unwrap_or_else(|| Self::path(&self.run_id));
        let dir = path.parent().expect("state path has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join("state.json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    /// Reads and checks the state file at `path` (see the module docs).
    pub fn load(path: &Path) -> Result<Self, StateFileError> {
        let error = |problem| StateFileError { path: path.to_owned(), problem };
        let file = std::fs::File::open(path).map_err(|e| error(StateFileProblem::Read(e)))?;
        let mut text = String::new();
        file.take(MAX_STATE_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| error(StateFileProblem::Read(e)))?;
        if text.len() as u64 > MAX_STATE_FILE_BYTES {
            return Err(error(StateFileProblem::TooLarge));
        }
        Self::parse(path, &text)
    }

    /// Parses and checks the text of the state file at `path` (nothing is read from disk).
    pub fn parse(path: &Path, text: &str) -> Result<Self, StateFileError> {
        let error = |problem| StateFileError { path: path.to_owned(), problem };
        let mut state: Self = serde_json::from_str(text).map_err(|e| error(StateFileProblem::Parse(e)))?;
        state.check(path).map_err(error)?;
        state.file = Some(path.to_owned());
        Ok(state)
    }

    fn check(&self, path: &Path) -> Result<(), StateFileProblem> {
        if self.resources.len() > MAX_RESOURCES {
            return Err(StateFileProblem::TooManyResources(self.resources.len()));
        }
        for (index, resource) in self.resources.iter().enumerate() {
            if let Some(why) = resource_problem(resource) {
                return Err(StateFileProblem::BadResource { index, why });
            }
        }
        let dir = path.parent().and_then(Path::file_name).map(|name| name.to_string_lossy().into_owned());
        match dir {
            Some(dir) if dir != self.run_id.as_str() => {
                Err(StateFileProblem::Misplaced { run: self.run_id.clone(), dir })
            }
            _ => Ok(()),
        }
    }

    /// Every state file under `target/verify/` whose run is not finished, oldest first; a file that
    /// cannot be used is in `skipped` (the others are still returned).
    pub fn unfinished() -> anyhow::Result<Unfinished> {
        let dir = crate::run::runs_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Unfinished::default()) };
        let mut found = Unfinished::default();
        for entry in entries {
            let path = entry.with_context(|| format!("listing {}", dir.display()))?.path().join("state.json");
            if !path.is_file() {
                continue;
            }
            match Self::load(&path) {
                Ok(state) if !state.finished => found.states.push(state),
                Ok(_) => {}
                Err(error) => found.skipped.push(error),
            }
        }
        found.states.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        found.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }
}

/// Why a resource entry cannot be acted on, if it cannot: its id goes into API calls.
fn resource_problem(resource: &Resource) -> Option<&'static str> {
    let bad = |text: &str| text.len() > MAX_ID_LEN || text.chars().any(char::is_control);
    if resource.id.is_empty() {
        Some("an empty id")
    } else if bad(&resource.id) {
        Some("an id longer than 2048 bytes or with control characters")
    } else if resource.arn.as_deref().is_some_and(|arn| arn.is_empty() || bad(arn)) {
        Some("an ARN that is empty, longer than 2048 bytes or with control characters")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const RUN: &str = "20260101-120000-abcd";

    fn path() -> PathBuf {
        Path::new("/runs").join(RUN).join("state.json")
    }

    fn valid() -> serde_json::Value {
        serde_json::json!({
            "runId": RUN,
            "connection": {"kind": "endpoint", "url": "http://127.0.0.1:1", "region": "us-east-1"},
            "phase": "deploy",
            "resources": [{"kind": "vpc", "id": "vpc-0123456789abcdef0"}],
            "connectionKind": "emulator",
        })
    }

    fn problem(text: &str) -> StateFileProblem {
        let error = RunState::parse(&path(), text).expect_err("refused");
        assert!(error.to_string().starts_with(&format!("{}: ", path().display())), "{error}");
        error.problem
    }

    #[test]
    fn a_valid_file_parses_and_one_without_a_connection_kind_counts_as_aws() {
        let state = RunState::parse(&path(), &valid().to_string()).unwrap();
        assert_eq!(state.connection_kind, ConnectionKind::Emulator);
        let mut older = valid();
        older.as_object_mut().unwrap().remove("connectionKind");
        let state = RunState::parse(&path(), &older.to_string()).unwrap();
        assert_eq!(state.connection_kind, ConnectionKind::Aws, "the safe side");
        let written = RunState::new(RunId::parse(RUN).unwrap(), Connection::Embedded);
        assert_eq!(written.connection_kind, ConnectionKind::Emulator, "recorded when the state is made");
    }

    #[test]
    fn run_ids_in_files_get_the_command_lines_check() {
        for bad in ["../../etc", "20260101-120000-abcz", "", "20260101-120000-abcd/..", "2026010-1120000-abcd"] {
            let mut state = valid();
            state["runId"] = serde_json::json!(bad);
            let text = state.to_string();
            assert!(matches!(problem(&text), StateFileProblem::Parse(_)), "{bad:?}");
            let message = RunState::parse(&path(), &text).unwrap_err().to_string();
            assert!(message.contains("run id must look like"), "{message}");
        }
    }

    #[test]
    fn a_file_in_another_runs_directory_is_refused() {
        let mut state = valid();
        state["runId"] = serde_json::json!("20250101-000000-0001");
        assert!(matches!(problem(&state.to_string()), StateFileProblem::Misplaced { .. }));
    }

    #[test]
    fn too_many_resources_and_bad_ids_are_refused() {
        let mut state = valid();
        state["resources"] =
            serde_json::json!(vec![serde_json::json!({"kind": "vpc", "id": "vpc-1"}); MAX_RESOURCES + 1]);
        assert!(matches!(problem(&state.to_string()), StateFileProblem::TooManyResources(_)));
        for id in ["", "vpc-1\n", &"x".repeat(MAX_ID_LEN + 1)] {
            let mut state = valid();
            state["resources"][0]["id"] = serde_json::json!(id);
            assert!(matches!(problem(&state.to_string()), StateFileProblem::BadResource { index: 0, .. }), "{id:?}");
        }
    }

    /// Hostile variations of a valid state file: a valid prefix with garbage, wrong types, bad run
    /// ids, unknown kinds, huge arrays and numbers, unicode, repeated keys.
    fn hostile_text() -> impl Strategy<Value = String> {
        let valid_text = valid().to_string();
        let value = prop_oneof![
            Just(serde_json::json!(null)),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)),
            ".{0,40}".prop_map(serde_json::Value::from),
            "[0-9]{8}-[0-9]{6}-[0-9a-fA-FgG]{4}".prop_map(serde_json::Value::from),
            Just(serde_json::json!([])),
            Just(serde_json::json!({})),
            (0usize..3000)
                .prop_map(|n| serde_json::json!(vec![serde_json::json!({"kind": "subnet", "id": "subnet-1"}); n])),
        ];
        let key = prop_oneof![
            Just("runId"),
            Just("connection"),
            Just("phase"),
            Just("resources"),
            Just("finished"),
            Just("connectionKind"),
        ];
        prop_oneof![
            // Any bytes (as text).
            ".{0,200}",
            // A valid file cut anywhere, with garbage after.
            (0..=valid_text.len(), ".{0,20}").prop_map(move |(cut, tail)| {
                let cut = (0..=cut).rev().find(|&i| valid_text.is_char_boundary(i)).unwrap_or(0);
                format!("{}{tail}", &valid_text[..cut])
            }),
            // One field replaced by a value of any type.
            (key.clone(), value.clone()).prop_map(|(key, value)| {
                let mut state = valid();
                state[key] = value;
                state.to_string()
            }),
            // A resource's field replaced.
            (prop_oneof![Just("kind"), Just("id"), Just("arn"), Just("deleted")], value).prop_map(|(key, value)| {
                let mut state = valid();
                state["resources"][0][key] = value;
                state.to_string()
            }),
            // A repeated key (serde_json refuses duplicates in structs).
            key.prop_map(|key| {
                let text = valid().to_string();
                format!("{},\"{key}\":null}}", &text[..text.len() - 1])
            }),
            // Deep nesting.
            (1usize..200).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// The state file reader on hostile input: never panics, always a state that passes the
        /// checks or a typed error naming the file.
        #[test]
        fn fuzz_state_file(text in hostile_text()) {
            match RunState::parse(&path(), &text) {
                Ok(state) => {
                    prop_assert_eq!(state.run_id.as_str(), RUN);
                    prop_assert!(state.resources.len() <= MAX_RESOURCES);
                    prop_assert!(state.resources.iter().all(|r| resource_problem(r).is_none()));
                }
                Err(error) => {
                    prop_assert_eq!(&error.path, &path());
                    let message = error.to_string();
                    prop_assert!(message.starts_with(&format!("{}: ", path().display())), "{}", message);
                }
            }
        }
    }
}
