//! Scratch folders for tests, under a base folder the caller names (an integration test passes
//! `env!("CARGO_TARGET_TMPDIR")`, which cargo sets only when compiling integration tests).

use std::path::{Path, PathBuf};

/// `base/name`, emptied: removed first if it exists, then created. For one test's own files.
pub fn fresh_dir(base: &Path, name: impl AsRef<Path>) -> PathBuf {
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create the scratch dir {}: {e}", dir.display()));
    dir
}

/// `base/name`, created if missing and otherwise left as it is. For a folder that tests running at
/// the same time share (each writing files of its own in it).
pub fn shared_dir(base: &Path, name: impl AsRef<Path>) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create the scratch dir {}: {e}", dir.display()));
    dir
}
