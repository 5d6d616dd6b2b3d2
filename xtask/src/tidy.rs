//! Checks on the workspace's source that no compiler makes: no import cycle between the files of a
//! crate.
//!
//! A file imports another when it names it in a path: through `use`, a `crate::`/`super::`/`self::`
//! path, or a path that starts with one of its own child modules (`phases::deploy(…)` in the file
//! that declares `mod phases;`). A path resolves to the longest module path that is a file of the
//! crate (`crate::ec2::xml::Xml` → `ec2/xml.rs`), else to the module it starts from: an item the crate
//! root defines or re-exports (`crate::Config`) is an import of the root. The crate root is `lib.rs`
//! (or `main.rs` in a crate without a library; a binary's `main.rs` beside a `lib.rs` and `src/bin/`
//! are crates of their own and left out). A file's code from its first `#[cfg(test)]` on does not
//! count (tests may look anywhere), nor do comments. Text in strings does; that has not mattered so
//! far.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A file's module path inside its crate: `ec2/xml.rs` → `["ec2", "xml"]`, `bench/mod.rs` →
/// `["bench"]`.
type ModulePath = Vec<String>;

/// One import cycle: its files and the imports among them.
#[derive(Debug, PartialEq, Eq)]
struct Cycle {
    files: Vec<ModulePath>,
    edges: Vec<(ModulePath, ModulePath)>,
}

/// The workspace members named in the root `Cargo.toml` (`members = ["a", "b", …]`).
fn workspace_members(root: &Path) -> Vec<PathBuf> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).expect("the workspace has a Cargo.toml");
    let after = &manifest[manifest.find("members").expect("the workspace lists its members")..];
    let list = &after[after.find('[').expect("members is an array") + 1..after.find(']').expect("a closed array")];
    list.split(',').filter_map(|item| item.split('"').nth(1)).map(|name| root.join(name)).collect()
}

/// Every `.rs` file of the crate under `src`, by module path, with its text: the library's, or the
/// binary's when there is no library (see the module docs).
fn read_crate(src: &Path) -> BTreeMap<ModulePath, String> {
    let has_library = src.join("lib.rs").is_file();
    let mut files = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if path != src.join("bin") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(src).expect("under src");
                if has_library && relative == Path::new("main.rs") {
                    continue;
                }
                if let Some(module) = module_path(relative) {
                    let text =
                        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                    files.insert(module, text);
                }
            }
        }
    }
    files
}

/// The module path of the file at `relative` (to `src/`): empty for a crate root.
fn module_path(relative: &Path) -> Option<ModulePath> {
    let mut path: ModulePath =
        relative.with_extension("").iter().map(|segment| segment.to_string_lossy().into_owned()).collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    if path.len() == 1 && (path[0] == "lib" || path[0] == "main") {
        path.clear();
    }
    Some(path)
}

/// The imports of each file on the other files, from their text.
fn imports(files: &BTreeMap<ModulePath, String>) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let mut edges: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, text) in files {
        let code = without_comments(text.split("#[cfg(test)]").next().unwrap_or_default());
        let mut paths: Vec<Vec<String>> = Vec::new();
        for tree in use_trees(&code) {
            expand_use_tree(&[], tree, &mut paths);
        }
        paths.extend(qualified_paths(&code).into_iter().map(|p| p.split("::").map(str::to_string).collect()));
        let targets = edges.entry(module.clone()).or_default();
        for path in paths {
            if let Some(target) = resolve(files, module, &path).filter(|target| target != module) {
                targets.insert(target);
            }
        }
    }
    edges
}

/// `code` without its `//` comments (doc comments included) and `/* … */` comments.
fn without_comments(code: &str) -> String {
    let mut kept = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(open) = rest.find("/*") {
        kept.push_str(&rest[..open]);
        rest = rest[open + 2..].find("*/").map_or("", |close| &rest[open + 2 + close + 2..]);
    }
    kept.push_str(rest);
    kept.lines().map(|line| line.find("//").map_or(line, |at| &line[..at])).collect::<Vec<_>>().join("\n")
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Whether `code[at..]` starts a word.
fn starts_word(code: &[u8], at: usize) -> bool {
    at == 0 || !is_word(code[at - 1])
}

/// The trees of every `use … ;` (`a::{b, c::d as e}`).
fn use_trees(code: &str) -> Vec<&str> {
    let bytes = code.as_bytes();
    let mut trees = Vec::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("use") {
        let start = at + found;
        let after = start + "use".len();
        let is_keyword = starts_word(bytes, start) && bytes.get(after).is_some_and(|b| b.is_ascii_whitespace());
        match code[after..].find(';').filter(|_| is_keyword) {
            Some(end) => {
                trees.push(code[after..after + end].trim());
                at = after + end + 1;
            }
            None => at = after,
        }
    }
    trees
}

/// Adds to `out` every path a use tree names, each prefixed with `prefix`: `a::{b, c::{d, e}}` →
/// `a::b`, `a::c::d`, `a::c::e`; `x as y` → `x`.
fn expand_use_tree(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let segments = |text: &str| text.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
    let group =
        tree.find('{').filter(|&open| tree.ends_with('}') && tree[..open].bytes().all(|b| is_word(b) || b == b':'));
    let Some(open) = group else {
        let name = tree.split_whitespace().take_while(|word| *word != "as").collect::<Vec<_>>().join(" ");
        out.push([prefix, &segments(&name)].concat());
        return;
    };
    let prefix = [prefix, &segments(&tree[..open])].concat();
    let body = &tree[open + 1..tree.len() - 1];
    let (mut depth, mut item_start) = (0, 0);
    for (at, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_nonblank(&prefix, &body[item_start..at], out);
                item_start = at + 1;
            }
            _ => {}
        }
    }
    expand_nonblank(&prefix, &body[item_start..], out);
}

fn expand_nonblank(prefix: &[String], item: &str, out: &mut Vec<Vec<String>>) {
    if !item.trim().is_empty() {
        expand_use_tree(prefix, item, out);
    }
}

/// Every path of two segments or more in `code` (`crate::a::b`, `super::a`, `phases::deploy`; also
/// those inside `use`), from its first segment.
fn qualified_paths(code: &str) -> Vec<&str> {
    let bytes = code.as_bytes();
    let mut paths = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts_path = is_word(bytes[at]) && starts_word(bytes, at) && !(at >= 2 && &bytes[at - 2..at] == b"::");
        if !starts_path {
            at += 1;
            continue;
        }
        let mut first_end = at;
        while first_end < bytes.len() && is_word(bytes[first_end]) {
            first_end += 1;
        }
        let mut end = first_end;
        while bytes[end..].starts_with(b"::") && bytes.get(end + 2).is_some_and(|&b| is_word(b)) {
            end += 2;
            while end < bytes.len() && is_word(bytes[end]) {
                end += 1;
            }
        }
        if end > first_end {
            paths.push(&code[at..end]);
        }
        at = end;
    }
    paths
}

/// The file `path` (used in file `from`) names: the longest module path that is a file, else the
/// module it starts from; `None` for paths outside the crate (`std::…`, a dependency's).
fn resolve(files: &BTreeMap<ModulePath, String>, from: &ModulePath, path: &[String]) -> Option<ModulePath> {
    let (mut base, mut rest) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("self") => (from.clone(), &path[1..]),
        Some("super") => (from.clone(), path),
        // A child module of `from` (`mod phases;` … `phases::deploy`).
        Some(first) if files.contains_key(&[from.as_slice(), &[first.to_string()]].concat()) => (from.clone(), path),
        _ => return None,
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut best = None;
    let mut candidate = base.clone();
    for segment in rest {
        candidate.push(segment.clone());
        if files.contains_key(&candidate) {
            best = Some(candidate.clone());
        }
    }
    best.or_else(|| files.contains_key(&base).then_some(base))
}

/// The import cycles among `files` (Tarjan's strongly connected components of two files or more).
fn import_cycles(files: &BTreeMap<ModulePath, String>) -> Vec<Cycle> {
    let edges = imports(files);
    let mut tarjan = Tarjan {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        components: Vec::new(),
    };
    for module in files.keys() {
        if !tarjan.index.contains_key(module) {
            tarjan.visit(module);
        }
    }
    tarjan
        .components
        .into_iter()
        .filter(|component| component.len() > 1)
        .map(|mut files| {
            files.sort();
            let edges = files
                .iter()
                .flat_map(|from| {
                    edges[from].iter().filter(|to| files.contains(to)).map(move |to| (from.clone(), to.clone()))
                })
                .collect();
            Cycle { files, edges }
        })
        .collect()
}

/// Tarjan's algorithm, recursive (module graphs are small).
struct Tarjan<'a> {
    edges: &'a BTreeMap<ModulePath, BTreeSet<ModulePath>>,
    index: BTreeMap<ModulePath, usize>,
    low: BTreeMap<ModulePath, usize>,
    stack: Vec<ModulePath>,
    components: Vec<Vec<ModulePath>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, module: &ModulePath) {
        let index = self.index.len();
        self.index.insert(module.clone(), index);
        self.low.insert(module.clone(), index);
        self.stack.push(module.clone());
        for next in self.edges.get(module).into_iter().flatten() {
            if !self.index.contains_key(next) {
                self.visit(next);
                self.lower(module, self.low[next]);
            } else if self.stack.contains(next) {
                self.lower(module, self.index[next]);
            }
        }
        if self.low[module] == index {
            let at = self.stack.iter().rposition(|m| m == module).expect("on the stack");
            self.components.push(self.stack.split_off(at));
        }
    }

    fn lower(&mut self, module: &ModulePath, to: usize) {
        let low = self.low.get_mut(module).expect("visited");
        *low = (*low).min(to);
    }
}

/// `cycle of 2 files: a, b` and one line per file with the files of the cycle it imports.
fn describe(cycle: &Cycle) -> String {
    let name = |module: &ModulePath| if module.is_empty() { "<crate root>".to_string() } else { module.join("/") };
    let mut text = format!(
        "cycle of {} files: {}",
        cycle.files.len(),
        cycle.files.iter().map(name).collect::<Vec<_>>().join(", ")
    );
    for file in &cycle.files {
        let imported: Vec<String> =
            cycle.edges.iter().filter(|(from, _)| from == file).map(|(_, to)| name(to)).collect();
        text.push_str(&format!("\n    {} -> {}", name(file), imported.join(", ")));
    }
    text
}

#[test]
fn no_import_cycle_inside_a_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace");
    let mut report = Vec::new();
    let members = workspace_members(root);
    assert!(members.len() > 1, "members found in the workspace Cargo.toml: {members:?}");
    for member in members {
        let src = member.join("src");
        if src.is_dir() {
            for cycle in import_cycles(&read_crate(&src)) {
                report.push(format!("{}: {}", member.display(), describe(&cycle)));
            }
        }
    }
    assert!(
        report.is_empty(),
        "import cycles between the files of a crate (move what both sides need into a lower module, \
         such as a sibling `context.rs` instead of the parent):\n{}",
        report.join("\n")
    );
}

#[test]
fn a_cycle_of_two_files_is_reported() {
    let module = |path: &str| path.split('/').map(str::to_string).collect::<ModulePath>();
    let files: BTreeMap<ModulePath, String> = [
        ("router", "use crate::handlers::{self, Handler};\n"),
        // `self::…`, `super::…` and grouped imports resolve to the longest module path that is a file.
        ("handlers", "mod shared;\npub fn f() -> super::router::Router { todo!() }\n"),
        ("handlers/shared", "use super::super::error::Error as E;\n// use crate::router;\n"),
        ("error", "pub struct Error;\n#[cfg(test)]\nmod tests { use crate::router::Router; }\n"),
    ]
    .into_iter()
    .map(|(path, text)| (module(path), text.to_string()))
    .collect();
    let cycles = import_cycles(&files);
    let expected = Cycle {
        files: vec![module("handlers"), module("router")],
        edges: vec![(module("handlers"), module("router")), (module("router"), module("handlers"))],
    };
    assert_eq!(cycles, vec![expected]);
    assert_eq!(
        describe(&cycles[0]),
        "cycle of 2 files: handlers, router\n    handlers -> router\n    router -> handlers"
    );
    assert_eq!(imports(&files)[&module("handlers/shared")], BTreeSet::from([module("error")]), "comments do not count");
    assert!(imports(&files)[&module("error")].is_empty(), "code after #[cfg(test)] does not count");
}

#[test]
fn the_crate_root_and_paths_through_child_modules_count() {
    let module = |path: &str| path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect::<ModulePath>();
    // The root defines `Config` and calls into its child `app`, which imports `crate::Config`.
    let files: BTreeMap<ModulePath, String> = [
        ("", "mod app;\npub struct Config;\npub fn start() { app::serve(); }\n"),
        ("app", "use crate::Config;\npub fn serve() {}\n/* use crate::gone; */\n"),
        ("app/handlers", "pub fn f() { std::process::exit(0) }\n"),
    ]
    .into_iter()
    .map(|(path, text)| (module(path), text.to_string()))
    .collect();
    let cycles = import_cycles(&files);
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(cycles[0].files, vec![module(""), module("app")]);
    assert!(imports(&files)[&module("app/handlers")].is_empty(), "std:: is not a module of the crate");
    // With `Config` in a module of its own, the layers point down.
    let layered: BTreeMap<ModulePath, String> = [
        ("", "mod app;\nmod config;\npub use config::Config;\npub fn start() { app::serve(); }\n"),
        ("app", "use crate::config::Config;\npub fn serve() {}\n"),
        ("config", "pub struct Config;\n"),
    ]
    .into_iter()
    .map(|(path, text)| (module(path), text.to_string()))
    .collect();
    assert_eq!(import_cycles(&layered), Vec::new());
}

#[test]
fn module_paths_follow_the_file_layout() {
    assert_eq!(module_path(Path::new("ec2/xml.rs")), Some(vec!["ec2".to_string(), "xml".to_string()]));
    assert_eq!(module_path(Path::new("bench/mod.rs")), Some(vec!["bench".to_string()]));
    assert_eq!(module_path(Path::new("lib.rs")), Some(Vec::new()));
    assert_eq!(module_path(Path::new("main.rs")), Some(Vec::new()));
}
