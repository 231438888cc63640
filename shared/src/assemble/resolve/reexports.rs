//! Paths reached through what a module re-exports: Rust's `pub use crate::error::Error` in
//! `lib.rs` makes `crate::Error` that error; Python's `from .graph import Graph` and
//! `from .misc import *` in a package's `__init__.py` make `networkx.Graph` and
//! `networkx.utils.pairwise` the definitions they import.
//!
//! Every import counts, not only public ones: Python has no such distinction, and a Rust path
//! that compiles through a private `use` is rare enough not to mislead.

use std::collections::HashSet;

use crate::lang::Language;
use crate::symbols::SymbolKind;

use super::{Index, Target};

/// The most modules one path is followed through (`networkx` → `networkx.classes` →
/// `networkx.classes.graph`): real packages re-export through two or three; the bound stops
/// import cycles.
const MAX_REEXPORT_DEPTH: usize = 8;

impl Index<'_> {
    /// `path` (absolute: `crate::Error::new`, `networkx.utils.pairwise`) where its longest
    /// module prefix imports its next segment, by name or by a glob; `None` where it does not.
    pub(super) fn through_reexports(
        &self,
        language: Language,
        path: &str,
        sep: &str,
    ) -> Option<Target> {
        self.follow(language, path, sep, 0, &mut HashSet::new())
    }

    /// [`Self::through_reexports`] at `depth`, never twice for one path (`seen`): glob imports
    /// may form cycles, and a miss would otherwise walk every chain through them.
    fn follow(
        &self,
        language: Language,
        path: &str,
        sep: &str,
        depth: usize,
        seen: &mut HashSet<String>,
    ) -> Option<Target> {
        if depth >= MAX_REEXPORT_DEPTH || !seen.insert(path.to_owned()) {
            return None;
        }
        let (module, rest) = self.module_prefix(language, path, sep)?;
        let (name, tail) = match rest.split_once(sep) {
            Some((name, tail)) => (name, Some(tail)),
            None => (rest, None),
        };
        for &file in &self.module_files[module] {
            match self.imports.get(&file).and_then(|table| table.get(name)) {
                Some(Target::Symbols(found, confidence)) => {
                    return self.walk_down(found, *confidence, tail, sep);
                }
                Some(Target::External(imported)) if imported != path => {
                    let full = match tail {
                        Some(tail) => format!("{imported}{sep}{tail}"),
                        None => imported.clone(),
                    };
                    if let Some(found) = self.follow(language, &full, sep, depth + 1, seen) {
                        return Some(found);
                    }
                }
                _ => {}
            }
            for glob in self.globs.get(&file).into_iter().flatten() {
                let Target::Symbols(modules, _) = glob else {
                    continue;
                };
                for &m in modules {
                    let Some(prefix) = self.module_path(m) else {
                        continue;
                    };
                    let full = format!("{prefix}{sep}{rest}");
                    if let Some(found) = self.by_qualified.get(full.as_str()) {
                        return Some(Target::Symbols(found.clone(), 1.0));
                    }
                    if prefix != module {
                        if let Some(found) = self.follow(language, &full, sep, depth + 1, seen) {
                            return Some(found);
                        }
                    }
                }
            }
        }
        None
    }

    /// What the modules among `found` re-export as `path` (relative to them: `Graph`).
    pub(super) fn reexported(&self, found: &[usize], path: &str) -> Vec<usize> {
        let mut reached = Vec::new();
        for &h in found {
            let Some(prefix) = self.module_path(h) else {
                continue;
            };
            let language = self.symbols[h].language;
            let sep = language.spec().separator;
            let full = format!("{prefix}{sep}{path}");
            if let Some(Target::Symbols(q, _)) = self.through_reexports(language, &full, sep) {
                reached.extend(q);
            }
        }
        reached
    }

    /// The path of module `m`: a file's module prefix, or a module declaration's (`mod proto;`).
    fn module_path(&self, m: usize) -> Option<&str> {
        match self.prefix_of.get(&m) {
            Some(prefix) => Some(prefix),
            None => (self.symbols[m].kind == SymbolKind::Module)
                .then_some(self.symbols[m].qualified_name.as_str()),
        }
    }

    /// The longest prefix of `path` that is a module of the repository in `language`, and the
    /// rest of the path after it.
    fn module_prefix<'p>(
        &self,
        language: Language,
        path: &'p str,
        sep: &str,
    ) -> Option<(&'p str, &'p str)> {
        let mut end = path.len();
        while let Some(i) = path[..end].rfind(sep) {
            let module = &path[..i];
            let is_module = self
                .module_files
                .get(module)
                .is_some_and(|files| files.iter().any(|&f| self.symbols[f].language == language));
            if is_module {
                return Some((module, &path[i + sep.len()..]));
            }
            end = i;
        }
        None
    }

    /// `found`, or the path `tail` below it (`Error` then `new`).
    fn walk_down(
        &self,
        found: &[usize],
        confidence: f32,
        tail: Option<&str>,
        sep: &str,
    ) -> Option<Target> {
        let Some(tail) = tail else {
            return Some(Target::Symbols(found.to_vec(), confidence));
        };
        let mut reached = Vec::new();
        for &f in found {
            let qualified = format!("{}{sep}{tail}", self.symbols[f].qualified_name);
            match self.by_qualified.get(qualified.as_str()) {
                Some(q) => reached.extend(q.iter().copied()),
                None if !tail.contains(sep) => reached.extend(self.member(f, tail)),
                None => {}
            }
        }
        (!reached.is_empty()).then_some(Target::Symbols(reached, confidence))
    }
}
