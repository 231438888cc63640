//! Rust: the names a repository's code calls its own crate by. Integration tests, benches and
//! examples are crates of their own, so they reach the library as `tokio::sync::Semaphore`,
//! never as `crate::…`. Crates whose `Cargo.toml` ingest found are keyed by their name
//! ([`super::crates`]); for the others the name is inferred from use: a first segment that is
//! no module in scope and no standard crate, where the rest of its paths are paths of the
//! repository (`tokio::sync::Semaphore` → `crate::sync::Semaphore`).
//!
//! A name the library's own source (`src/`, but for binaries) writes is a dependency's: there
//! the crate is `crate`. A dependency's paths may happen to be the repository's too
//! (`anyhow::Result` where the crate has a `crate::Result`; serde_json mirrors serde's `de` and
//! `ser`), so a name counts only where most of its paths are, and where it has at least half as
//! many as the name with the most: the crate's own name stands far above any dependency in its
//! own tests.

use std::collections::{BTreeMap, HashSet};

use crate::lang::{Language, ModulePath};
use crate::symbols::ReferenceKind;

use super::{expand_use, Index, Target};

/// First segments that name a standard crate or a scope, never the repository's own crate.
const NOT_A_CRATE_NAME: [&str; 6] = ["std", "core", "alloc", "crate", "self", "super"];

impl Index<'_> {
    /// The names the repository's Rust code calls its own crate by.
    pub(super) fn own_crate_names(&self) -> HashSet<String> {
        // Per first segment, its distinct paths, and whether each leads into the repository.
        let mut paths: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        // First segments written in a library's own source, where it is `crate`: dependencies.
        let mut in_src: HashSet<String> = HashSet::new();
        for (i, s) in self.symbols.iter().enumerate() {
            if s.language.spec().module_path != ModulePath::RustCrate {
                continue;
            }
            let file = self.file_of[i];
            let is_src = is_library_source(&self.symbols[file].path);
            for r in &s.references {
                let written: Vec<String> = match (r.kind, &r.qualifier) {
                    (ReferenceKind::Import, _) => {
                        expand_use(&r.target).into_iter().map(|(p, _)| p).collect()
                    }
                    (ReferenceKind::Call, Some(q)) if !r.receiver => {
                        vec![format!("{q}::{}", r.target)]
                    }
                    _ => continue,
                };
                for path in written {
                    // `self::…`, `super::…` and a module declared here become `crate::…`.
                    let Some(path) = self.rust_absolute(i, &path) else {
                        continue;
                    };
                    let Some((first, rest)) = path.split_once("::") else {
                        continue;
                    };
                    if !is_crate_name(first) || self.is_imported(i, first, "::") {
                        continue;
                    }
                    if is_src {
                        in_src.insert(first.to_owned());
                        continue;
                    }
                    let found = self.in_own_crate(s.language, rest).is_some();
                    paths
                        .entry(first.to_owned())
                        .or_default()
                        .insert(rest.to_owned(), found);
                }
            }
        }
        let counts: Vec<(String, usize, usize)> = paths
            .into_iter()
            .filter(|(name, _)| !in_src.contains(name))
            .map(|(name, rests)| {
                let found = rests.values().filter(|&&f| f).count();
                (name, found, rests.len())
            })
            .collect();
        let most = counts.iter().map(|c| c.1).max().unwrap_or(0);
        counts
            .into_iter()
            .filter(|&(_, found, all)| found > 0 && 2 * found >= most && 2 * found > all)
            .map(|(name, _, _)| name)
            .collect()
    }

    /// `name::…::target` in a crate that calls itself `name`, as `crate::…::target`; `None`
    /// where `name` is not one of [`Self::own_crate_names`] or the path leads nowhere.
    pub(super) fn own_crate_path(&self, from: usize, path: &str) -> Option<Vec<usize>> {
        let (first, rest) = path.split_once("::")?;
        if !self.own_crates.contains(first) {
            return None;
        }
        self.in_own_crate(self.symbols[from].language, rest)
    }

    /// What `crate::{rest}` names exactly (not by suffix).
    fn in_own_crate(&self, language: Language, rest: &str) -> Option<Vec<usize>> {
        match self.defined_at(language, &format!("crate::{rest}"), "::")? {
            Target::Symbols(found, _) => Some(found),
            _ => None,
        }
    }
}

/// Whether `path` is a library's source: under `src/`, but not a binary's root (`src/main.rs`,
/// `src/bin/…`), which names the library by its crate name as tests do.
fn is_library_source(path: &str) -> bool {
    match path.rsplit_once("src/") {
        Some((before, inside)) => {
            (before.is_empty() || before.ends_with('/'))
                && inside != "main.rs"
                && !inside.starts_with("bin/")
        }
        None => false,
    }
}

/// A crate's name as code writes it: snake case (`tokio`, `serde_json`), not a type
/// (`Vec::new`) and not a standard crate or scope.
fn is_crate_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !NOT_A_CRATE_NAME.contains(&name)
}
