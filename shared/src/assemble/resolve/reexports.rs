//! Paths reached through what a module re-exports: Rust's `pub use crate::error::Error` in
//! `lib.rs` makes `crate::Error` that error; Python's `from .graph import Graph` and
//! `from .misc import *` in a package's `__init__.py` make `networkx.Graph` and
//! `networkx.utils.pairwise` the definitions they import; an ECMAScript barrel's
//! `export { User } from './user'` and `export * from './order'` make `import { User } from
//! './models'` the class in `models/user.ts`.
//!
//! Every import counts, not only public ones: Python has no such distinction, and a Rust path
//! that compiles through a private `use` is rare enough not to mislead.

use std::collections::HashSet;

use crate::lang::{Language, ModulePath};
use crate::symbols::{ReferenceKind, SymbolKind};

use super::{ecma_specifier, Index, Target};

/// The most modules one path is followed through (`networkx` → `networkx.classes` →
/// `networkx.classes.graph`): real packages re-export through two or three; the bound stops
/// import cycles.
const MAX_REEXPORT_DEPTH: usize = 8;

/// The most (module, name) pairs one ECMAScript export is looked for in: a barrel of barrels
/// (`export *` from every folder of a package) stays well under it; the bound keeps a miss in
/// a repository of thousands of barrels cheap.
const MAX_ECMA_MODULES_VISITED: usize = 256;

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
        let files = &self.module_files[module];
        let imported = |file: &usize| self.imports.get(file).and_then(|table| table.get(name));
        // Where several files are the module (Rust's crate roots: the library's `lib.rs`, and
        // each test's, bench's and example's own), the surest of what they import.
        let mut best: Option<(&Vec<usize>, f32)> = None;
        for file in files {
            if let Some(Target::Symbols(found, confidence)) = imported(file) {
                if best.is_none_or(|(_, c)| *confidence > c) {
                    best = Some((found, *confidence));
                }
            }
        }
        if let Some((found, confidence)) = best {
            return self.walk_down(found, confidence, tail, sep);
        }
        for file in files {
            match imported(file) {
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
            for m in self.glob_modules(*file) {
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
        None
    }

    /// What the modules among `found` re-export as `path` (relative to them: `Graph`).
    pub(super) fn reexported(&self, found: &[usize], path: &str) -> Vec<usize> {
        let mut reached = Vec::new();
        for &h in found {
            if self.spec(h).module_path == ModulePath::FilePath {
                if self.symbols[h].parent.is_none() {
                    let (name, tail) = match path.split_once('.') {
                        Some((name, tail)) => (name, Some(tail)),
                        None => (path, None),
                    };
                    let exported = self.ecma_export(h, name);
                    if let Some(Target::Symbols(q, _)) = self.walk_down(&exported, 1.0, tail, ".") {
                        reached.extend(q);
                    }
                }
                continue;
            }
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

    /// What ECMAScript module `file` exports as `name`: its own definition, or what it
    /// re-exports (`export { A } from './a'`, `import { A } from './a'; export { A }`,
    /// `export * from './a'`), followed through barrel files (`index.ts`) to the definition.
    /// Empty where the chain leaves the repository or ends at no definition.
    pub(super) fn ecma_export(&self, file: usize, name: &str) -> Vec<usize> {
        self.ecma_export_from(file, name, &mut HashSet::new())
    }

    /// [`Self::ecma_export`], never twice for one module and name (`seen`): barrels may
    /// re-export each other.
    fn ecma_export_from(
        &self,
        file: usize,
        name: &str,
        seen: &mut HashSet<(usize, String)>,
    ) -> Vec<usize> {
        if seen.len() >= MAX_ECMA_MODULES_VISITED || !seen.insert((file, name.to_owned())) {
            return Vec::new();
        }
        let own = self.child_named(file, name, false);
        if !own.is_empty() {
            return own;
        }
        let mut from_globs = Vec::new();
        for r in &self.symbols[file].references {
            let (ReferenceKind::Import, Some(module)) = (r.kind, r.qualifier.as_deref()) else {
                continue;
            };
            let (taken, bound) = ecma_specifier(&r.target);
            let glob = bound == "*";
            if !glob && bound != name {
                continue;
            }
            let Target::Symbols(modules, _) = self.ecma_module(file, module) else {
                continue;
            };
            for m in modules {
                match (glob, taken) {
                    // `export * as ns from './a'`: the module itself.
                    (false, "*") => return vec![m],
                    (false, taken) => return self.ecma_export_from(m, taken, seen),
                    // `export * from './a'`: only where no name of its own matched.
                    (true, _) if from_globs.is_empty() => {
                        from_globs = self.ecma_export_from(m, name, seen);
                    }
                    (true, _) => {}
                }
            }
        }
        from_globs
    }

    /// The path of module `m`: a file's module prefix, or a module declaration's (`mod proto;`).
    pub(super) fn module_path(&self, m: usize) -> Option<&str> {
        match self.prefix_of.get(&m) {
            Some(prefix) => Some(prefix),
            None => (self.symbols[m].kind == SymbolKind::Module).then_some(&*self.qualified[m]),
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
            let qualified = format!("{}{sep}{tail}", self.qualified[f]);
            match self.by_qualified.get(qualified.as_str()) {
                Some(q) => reached.extend(q.iter().copied()),
                None if !tail.contains(sep) => reached.extend(self.member(f, tail)),
                None => {}
            }
        }
        (!reached.is_empty()).then_some(Target::Symbols(reached, confidence))
    }
}
