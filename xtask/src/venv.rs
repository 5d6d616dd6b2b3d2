//! The Python virtualenv the tests use as peers: the AWS CLI, boto3, moto's server, FastAPI/uvicorn.
//!
//! `cargo xtask test` creates it in `target/test-venv` and passes its path to `cargo test` as
//! `AGENTCORE_LAB_VENV`. The pinned package list is `xtask/test-requirements.txt`; a stamp file in the
//! venv records the list last installed, so re-runs skip pip entirely when nothing changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{self, project_root};

/// Environment variable through which the tests find the venv.
pub const VENV_ENV: &str = "AGENTCORE_LAB_VENV";

/// Interpreter used to create the venv; override with `AGENTCORE_LAB_PYTHON=/path/to/python3`.
const PYTHON_ENV: &str = "AGENTCORE_LAB_PYTHON";

const STAMP: &str = "agentcore-lab-requirements.txt";

/// Creates (or reuses) `target/test-venv` with the pinned test requirements and returns its absolute path.
pub fn ensure_test_venv() -> anyhow::Result<PathBuf> {
    let root = project_root();
    let venv = root.join("target").join("test-venv");
    let requirements_path = root.join("xtask").join("test-requirements.txt");
    let requirements =
        fs::read_to_string(&requirements_path).with_context(|| format!("reading {}", requirements_path.display()))?;
    let stamp = venv.join(STAMP);
    let python = venv_python(&venv);

    if python.is_file() && fs::read_to_string(&stamp).is_ok_and(|s| s == requirements) {
        eprintln!("test venv {} is up to date", venv.display());
        return Ok(venv);
    }

    if !python.is_file() {
        let base = std::env::var_os(PYTHON_ENV).unwrap_or_else(|| "python3".into());
        let mut create = Command::new(&base);
        create.arg("-m").arg("venv").arg(&venv);
        util::run(&mut create).with_context(|| {
            format!(
                "creating the test venv needs Python 3 with the venv module (Debian: `apt-get install \
                 python3-venv`); set {PYTHON_ENV} to choose the interpreter (now {:?})",
                base
            )
        })?;
    }
    // A half-finished install must not look finished.
    let _ = fs::remove_file(&stamp);
    let mut install = Command::new(&python);
    install.args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"]).arg(&requirements_path);
    util::run(&mut install).context("installing the test requirements into the venv")?;
    for tool in ["aws", "moto_server"] {
        let path = venv.join("bin").join(tool);
        if !path.is_file() {
            bail!("the test venv has no {} after pip install", path.display());
        }
    }
    fs::write(&stamp, &requirements).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv)
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}
