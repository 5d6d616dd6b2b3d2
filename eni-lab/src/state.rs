//! The state file `target/verify/<run-id>/state.json`: what a run created, rewritten (atomically)
//! after every create and delete, so that `destroy` finds everything even after a SIGKILL. The tags
//! ([`crate::run::RUN_TAG`]) are the other half: destroy looks both ways.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::run::{Connection, RunId};

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
}

impl RunState {
    pub fn new(run_id: RunId, connection: Connection) -> Self {
        Self { run_id, connection, phase: "deploy".into(), resources: Vec::new(), finished: false }
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

    /// Writes the file atomically (temporary file + rename), creating the run directory.
    pub fn save(&self) -> anyhow::Result<()> {
        let path = Self::path(&self.run_id);
        let dir = path.parent().expect("state path has a parent");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join("state.json.tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
        Ok(())
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a run state file", path.display()))
    }

    /// Every state file under `target/verify/` whose run is not finished, oldest first.
    pub fn unfinished() -> anyhow::Result<Vec<Self>> {
        let dir = crate::run::runs_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut states = Vec::new();
        for entry in entries {
            let path = entry?.path().join("state.json");
            if path.is_file() {
                let state = Self::load(&path)?;
                if !state.finished {
                    states.push(state);
                }
            }
        }
        states.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        Ok(states)
    }
}
