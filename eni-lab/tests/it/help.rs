//! `cargo xtask verify --help` (and deploy, destroy, iam-policy) is answered by xtask from the files under
//! `eni-lab/help/`, without compiling this crate and the AWS SDK: they must say what the binary says.

use std::path::Path;

use eni_lab::cli::{HELP_DIR, XTASK_TASKS, help};

#[test]
fn the_help_xtask_shows_is_the_help_of_the_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(HELP_DIR);
    let update = std::env::var_os("UPDATE_HELP").is_some();
    let mut stale = Vec::new();
    for task in XTASK_TASKS {
        let rendered = help(task).unwrap_or_else(|| panic!("no subcommand {task}"));
        assert!(rendered.contains("Usage: cargo xtask"), "{rendered}");
        let path = dir.join(format!("{task}.txt"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &rendered).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(rendered.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run `UPDATE_HELP=1 cargo test -p eni-lab --test it help` and commit"
    );
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = XTASK_TASKS.iter().map(|task| format!("{task}.txt")).collect();
    expected.sort();
    assert_eq!(files, expected, "a help file for a task xtask no longer forwards");
}

#[test]
fn an_unknown_task_has_no_help() {
    assert_eq!(help("no-such-task"), None);
}
