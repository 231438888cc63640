//! Raw references → graph edges, by each language's rules of scope, imports and qualified
//! names; bare-name matching only as the last resort, at a lower confidence.
//!
//! A reference from symbol `S` to `name` is looked up, in order: in the lexical scopes around
//! `S` (its own children, its parent's, … up to its file), in its file's imports, in what its
//! glob imports bring, in its Go package (where Go stops: the rest is its universe block), in
//! the language's prelude (`Err`, `len`: never the repository's), and only then by name across
//! the repository (confidence [`GLOBAL_NAME_CONFIDENCE`] split among at most
//! [`MAX_CANDIDATES`]). `self.m()` resolves in the enclosing type and what it implements,
//! `x.m()` in the type that `x`'s bindings give ([`receivers`]); `a::b::c` resolves `a` and walks
//! down, through what modules re-export ([`reexports`]); a workspace crate's name leads into it
//! ([`crates`]), as does a crate's own name inferred from use ([`own_crate`]). A
//! method on a value of unknown type matches the methods of that name
//! ([`METHOD_NAME_CONFIDENCE`]), or the one of them all the others override. What is not in
//! the repository becomes an external node named by its path (`std::env::var`, `fmt.Println`),
//! or by `.method` (`::method` in Rust) when the receiver's type is unknown and no method of
//! the repository has that name, or the standard types have one of it too (`xs.append(…)`).

mod crates;
mod own_crate;
mod receivers;
mod reexports;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::events::PackageFound;
use crate::extract::module_prefix;
use crate::hash::stable_id;
use crate::lang::{Language, LanguageSpec, ModulePath};
use crate::manifest::{self, ManifestKind};
use crate::symbols::{RawReference, ReferenceKind, Symbol, SymbolKind};

use super::graph::{Edge, EdgeKind, ExternalNode};

/// A target found by name anywhere in the repository, not through scope or imports: likely but
/// unproven, so edges to it carry this confidence (split among the candidates).
pub const GLOBAL_NAME_CONFIDENCE: f32 = 0.5;
/// A method called on a receiver of unknown type, matched by its name alone.
pub const METHOD_NAME_CONFIDENCE: f32 = 0.6;
/// A path found by its trailing segments only, or through a crate name inferred from use
/// (`kvlite::config::Config` for `crate::config::Config` where no `Cargo.toml` names the crate).
pub const SUFFIX_CONFIDENCE: f32 = 0.9;
/// Past this many equally plausible targets a name says nothing about which one is meant, and
/// an edge to each would only add noise: the reference is recorded as external instead.
pub const MAX_CANDIDATES: usize = 3;
/// The most modules one module's globs are followed to: a crate's prelude reaches hundreds, and
/// the bound keeps a generated chain of globs cheap.
const MAX_GLOB_MODULES: usize = 4096;
/// The module path of Go's standard library (`src/go.mod` in golang/go), whose packages are
/// imported by their directory alone (`fmt`, `internal/abi`), not by a path under `std/`.
const GO_STD_MODULE: &str = "std";

/// Where a name leads.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// Symbols of the repository (several when ambiguous), with the confidence of each.
    Symbols(Vec<usize>, f32),
    /// A Go package of the repository: the directory of its files.
    Package(String),
    /// Outside the repository: the path as written, made absolute where imports tell.
    External(String),
}

struct Index<'a> {
    symbols: &'a [Symbol],
    by_id: HashMap<&'a str, usize>,
    children: Vec<Vec<usize>>,
    /// Per symbol, its qualified name as paths reach it ([`crates`]).
    qualified: &'a [Cow<'a, str>],
    by_qualified: HashMap<&'a str, Vec<usize>>,
    by_name: HashMap<&'a str, Vec<usize>>,
    /// Per symbol, its file symbol.
    file_of: Vec<usize>,
    /// Per file symbol, the module prefix of its items (`crate::store`, `inventory.models`).
    prefix_of: HashMap<usize, String>,
    /// Per module prefix, its files (the inverse of `prefix_of`, in index order).
    module_files: HashMap<String, Vec<usize>>,
    file_by_path: HashMap<&'a str, usize>,
    /// Top-level files by directory (Go packages, ECMAScript module resolution).
    files_in_dir: HashMap<&'a str, Vec<usize>>,
    /// Per file symbol, its imports: local name → target.
    imports: HashMap<usize, HashMap<String, Target>>,
    /// Per file symbol, the modules it imports every name of (`pub use a::*`, `from .a import *`).
    globs: HashMap<usize, Vec<Target>>,
    /// What a glob-imported module has by a name ([`Self::through_globs`]): many files glob the
    /// same preludes, and a miss walks every glob behind them.
    glob_names: RefCell<HashMap<(usize, String), Option<Target>>>,
    /// Per module, the modules its globs reach ([`Self::glob_closure`]).
    glob_closures: RefCell<HashMap<String, Rc<[String]>>>,
    /// Every name some file's imports bind.
    imported_names: HashSet<String>,
    /// Per type, what it implements (resolved), for `self.m()` through a trait or base class.
    supertypes: HashMap<usize, Vec<usize>>,
    bindings: receivers::Bindings<'a>,
    /// Rust: per file path, the name of its crate, where the crate's manifest was found.
    crate_names: HashMap<&'a str, &'a str>,
    /// ECMAScript: the repository's packages (`package.json`), as (name, root directory).
    npm_packages: Vec<(&'a str, &'a str)>,
    /// Go: the repository's modules (`go.mod`), as (module path, root directory), the most
    /// specific path first ([`Self::go_package`]).
    go_modules: Vec<(&'a str, &'a str)>,
    /// Rust: the names the repository calls its own crate by ([`own_crate`]).
    own_crates: HashSet<String>,
}

/// Resolves every raw reference of `symbols` (sorted by id) into edges, plus the `contains`
/// edges of the symbol tree; returns them unsorted with the external nodes they reach (sorted).
/// `packages` are the repository's package manifests.
pub fn resolve_edges(
    symbols: &[Symbol],
    packages: &[PackageFound],
) -> (Vec<Edge>, Vec<ExternalNode>) {
    let crate_names = crates::crate_names(symbols, packages);
    let keys = crates::keys(symbols, &crate_names);
    let mut index = Index::new(symbols, &keys, crate_names, packages);
    let mut out = Edges::default();
    for (i, s) in symbols.iter().enumerate() {
        if let Some(&p) = s.parent.as_deref().and_then(|p| index.by_id.get(p)) {
            out.push(symbols, p, Node::Symbol(i), EdgeKind::Contains, 1.0);
        }
    }
    index.module_declarations(&mut out);
    // Twice: the second pass follows what the first found each module re-exports (`pub use`,
    // `from .graph import Graph` in an `__init__.py`), and only its edges are kept.
    let files: Vec<usize> = (0..symbols.len())
        .filter(|&i| symbols[i].parent.is_none())
        .collect();
    for pass in [1, 2] {
        let mut first_pass = Edges::default();
        let sink = if pass == 1 { &mut first_pass } else { &mut out };
        let tables: Vec<_> = files
            .iter()
            .map(|&f| (f, index.file_imports(f, sink)))
            .collect();
        index.imports.clear();
        index.globs.clear();
        index.glob_names.borrow_mut().clear();
        index.glob_closures.borrow_mut().clear();
        index.imported_names = tables
            .iter()
            .flat_map(|(_, (table, _))| table.keys().cloned())
            .collect();
        for (f, (table, globs)) in tables {
            index.imports.insert(f, table);
            if !globs.is_empty() {
                index.globs.insert(f, globs);
            }
        }
        if pass == 1 {
            // What the first pass's tables re-export tells where a crate's name leads.
            index.own_crates = index.own_crate_names();
        }
    }
    // Implements first: `self.m()` may resolve through a supertype.
    for (i, s) in symbols.iter().enumerate() {
        for r in s
            .references
            .iter()
            .filter(|r| r.kind == ReferenceKind::Implements)
        {
            let source = match &r.qualifier {
                Some(q) => match index.lookup_path(i, q, true) {
                    Target::Symbols(found, _) if found.len() == 1 => found[0],
                    _ => i,
                },
                None => i,
            };
            let target = index.lookup_path(source, strip_generics(&r.target), true);
            if let Target::Symbols(found, _) = &target {
                index
                    .supertypes
                    .entry(source)
                    .or_default()
                    .extend(found.iter().copied());
            }
            out.target(symbols, source, target, EdgeKind::Implements);
        }
    }
    index.go_interfaces(&mut out);
    for (i, s) in symbols.iter().enumerate() {
        for r in &s.references {
            match r.kind {
                ReferenceKind::Call => {
                    let target = index.resolve_call(i, r);
                    out.target(symbols, i, target, EdgeKind::Calls);
                }
                ReferenceKind::Type => {
                    let name = strip_generics(&r.target);
                    if is_type_parameter(name) {
                        continue;
                    }
                    let target = index.lookup_path(i, name, true);
                    out.target(symbols, i, target, EdgeKind::ReferencesType);
                }
                ReferenceKind::Import | ReferenceKind::Implements | ReferenceKind::Binding => {}
            }
        }
    }
    let Edges { edges, externals } = out;
    let mut externals: Vec<ExternalNode> = externals.into_values().collect();
    externals.sort_by(|a, b| a.id.cmp(&b.id));
    (edges, externals)
}

#[derive(Default)]
struct Edges {
    edges: Vec<Edge>,
    externals: HashMap<String, ExternalNode>,
}

enum Node {
    Symbol(usize),
    External(String),
}

impl Edges {
    fn push(&mut self, symbols: &[Symbol], from: usize, to: Node, kind: EdgeKind, confidence: f32) {
        let target = match to {
            Node::Symbol(t) if t == from => return,
            Node::Symbol(t) => symbols[t].id.clone(),
            Node::External(name) => {
                let id = external_id(&name);
                self.externals
                    .entry(id.clone())
                    .or_insert_with(|| ExternalNode {
                        id: id.clone(),
                        name,
                    });
                id
            }
        };
        self.edges.push(Edge {
            source: symbols[from].id.clone(),
            target,
            kind,
            confidence: super::graph::round3(confidence),
        });
    }

    fn target(&mut self, symbols: &[Symbol], from: usize, target: Target, kind: EdgeKind) {
        match target {
            Target::Symbols(found, confidence) => {
                for t in found {
                    self.push(symbols, from, Node::Symbol(t), kind, confidence);
                }
            }
            // Packages are turned into their files by whoever can list them.
            Target::Package(_) => {}
            Target::External(name) => self.push(symbols, from, Node::External(name), kind, 1.0),
        }
    }
}

/// The id of an external node: stable, and apart from symbol ids (which hash a path first).
fn external_id(name: &str) -> String {
    stable_id(&["external", name])
}

impl<'a> Index<'a> {
    fn new(
        symbols: &'a [Symbol],
        qualified: &'a [Cow<'a, str>],
        crate_names: HashMap<&'a str, &'a str>,
        packages: &'a [PackageFound],
    ) -> Self {
        let packages_of = |kind| {
            packages
                .iter()
                .filter(move |p| ManifestKind::of(&p.manifest) == Some(kind))
                .map(|p| (p.name.as_str(), manifest::root_of(&p.manifest)))
        };
        let npm_packages = packages_of(ManifestKind::Npm).collect();
        let mut go_modules: Vec<_> = packages_of(ManifestKind::GoMod).collect();
        // The most specific module first; `std` matches every path, so it comes last.
        go_modules.sort_by_key(|&(module, root)| {
            (
                module == GO_STD_MODULE,
                std::cmp::Reverse(module.len()),
                module,
                root,
            )
        });
        let by_id: HashMap<&str, usize> = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut children = vec![Vec::new(); symbols.len()];
        let mut by_qualified: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut file_by_path = HashMap::new();
        let mut files_in_dir: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in symbols.iter().enumerate() {
            match s.parent.as_deref().and_then(|p| by_id.get(p)) {
                Some(&p) => children[p].push(i),
                None => {
                    file_by_path.insert(s.path.as_str(), i);
                    files_in_dir.entry(dir_of(&s.path)).or_default().push(i);
                }
            }
            by_qualified.entry(&qualified[i]).or_default().push(i);
            by_name.entry(&s.name).or_default().push(i);
        }
        let file_of: Vec<usize> = symbols
            .iter()
            .map(|s| file_by_path.get(s.path.as_str()).copied().unwrap_or(0))
            .collect();
        let mut prefix_of = HashMap::new();
        for &f in file_by_path.values() {
            let file = &symbols[f];
            let prefix = if file.kind == SymbolKind::Module {
                Some(qualified[f].to_string())
            } else {
                let sep = file.language.spec().separator;
                // Not from a method: one of `impl Expr` in `dsl/mod.rs` is `dsl::Expr::alias`.
                children[f]
                    .iter()
                    .filter(|&&c| symbols[c].kind != SymbolKind::Method)
                    .find_map(|&c| {
                        qualified[c]
                            .strip_suffix(symbols[c].name.as_str())
                            .and_then(|p| p.strip_suffix(sep))
                            .map(str::to_owned)
                    })
                    // A Rust file of `use` items only (a `prelude.rs`): its path tells.
                    .or_else(|| {
                        let spec = file.language.spec();
                        (spec.module_path == ModulePath::RustCrate).then(|| {
                            let prefix = module_prefix(&file.path, spec, None);
                            let name = crate_names.get(file.path.as_str()).copied();
                            crates::key(&prefix, name).into_owned()
                        })
                    })
            };
            if let Some(prefix) = prefix {
                prefix_of.insert(f, prefix);
            }
        }
        let mut module_files: HashMap<String, Vec<usize>> = HashMap::new();
        for (&f, prefix) in &prefix_of {
            module_files.entry(prefix.clone()).or_default().push(f);
        }
        for files in module_files.values_mut() {
            files.sort_unstable();
        }
        Index {
            symbols,
            by_id,
            children,
            qualified,
            by_qualified,
            by_name,
            file_of,
            prefix_of,
            module_files,
            file_by_path,
            files_in_dir,
            imports: HashMap::new(),
            globs: HashMap::new(),
            glob_names: RefCell::default(),
            glob_closures: RefCell::default(),
            imported_names: HashSet::new(),
            supertypes: HashMap::new(),
            bindings: receivers::bindings(symbols),
            crate_names,
            npm_packages,
            go_modules,
            own_crates: HashSet::new(),
        }
    }

    fn spec(&self, i: usize) -> &'static LanguageSpec {
        self.symbols[i].language.spec()
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.symbols[i]
            .parent
            .as_deref()
            .and_then(|p| self.by_id.get(p).copied())
    }

    fn child_named(&self, of: usize, name: &str, methods: bool) -> Vec<usize> {
        self.children[of]
            .iter()
            .copied()
            .filter(|&c| {
                let s = &self.symbols[c];
                s.name == name && (methods || s.kind != SymbolKind::Method)
            })
            .collect()
    }

    /// Rust `mod store;` → the file of module `crate::store` (the declaration contains it).
    fn module_declarations(&self, out: &mut Edges) {
        let mut files_by_prefix: HashMap<&str, Vec<usize>> = HashMap::new();
        for (&f, prefix) in &self.prefix_of {
            files_by_prefix.entry(prefix).or_default().push(f);
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if s.kind != SymbolKind::Module || s.parent.is_none() {
                continue;
            }
            if let Some(files) = files_by_prefix.get(&*self.qualified[i]) {
                if let [f] = files[..] {
                    if f != self.file_of[i] {
                        out.push(self.symbols, i, Node::Symbol(f), EdgeKind::Contains, 1.0);
                    }
                }
            }
        }
    }

    /// A file's import table and glob imports, and its `imports` edges (from the symbol that
    /// holds each import).
    fn file_imports(&self, file: usize, out: &mut Edges) -> (HashMap<String, Target>, Vec<Target>) {
        let mut table = HashMap::new();
        let mut globs = Vec::new();
        let mut holders = vec![file];
        let mut k = 0;
        while k < holders.len() {
            holders.extend(self.children[holders[k]].iter().copied());
            k += 1;
        }
        holders.sort_unstable();
        for holder in holders {
            for r in &self.symbols[holder].references {
                if r.kind != ReferenceKind::Import {
                    continue;
                }
                for (alias, target) in self.import(file, holder, r) {
                    // A Go package is imported as a whole: an edge to each of its files.
                    let imported = match &target {
                        Target::Package(dir) => {
                            Target::Symbols(self.package_files(dir).collect(), 1.0)
                        }
                        other => other.clone(),
                    };
                    out.target(self.symbols, holder, imported, EdgeKind::Imports);
                    match alias {
                        Some(glob) if glob == "*" => globs.push(target),
                        Some(alias) => {
                            table.insert(alias, target);
                        }
                        None => {}
                    }
                }
            }
        }
        (table, globs)
    }

    /// One import reference of `holder` in `file` → (the local name it binds, if any; where it
    /// leads), by the language's import syntax.
    fn import(
        &self,
        file: usize,
        holder: usize,
        r: &RawReference,
    ) -> Vec<(Option<String>, Target)> {
        let spec = self.spec(file);
        match spec.module_path {
            ModulePath::RustCrate => expand_use(&r.target)
                .into_iter()
                .filter_map(|(path, alias)| {
                    let path = self.rust_absolute(holder, &path)?;
                    // A glob leads to its module.
                    let path = path.strip_suffix("::*").unwrap_or(&path);
                    // The file's own module (`use super::*;` in its `mod tests`) is this file,
                    // not every crate root that shares its path.
                    if self.prefix_of.get(&file).is_some_and(|own| own == path) {
                        return Some((alias, Target::Symbols(vec![file], 1.0)));
                    }
                    let target = match self.own_crate_path(file, path) {
                        Some(found) => Target::Symbols(found, SUFFIX_CONFIDENCE),
                        None => self.lookup_absolute(spec.language, path, spec.separator),
                    };
                    Some((alias, target))
                })
                .collect(),
            ModulePath::PythonDotted => {
                let (name, alias) = split_alias(&r.target);
                match r.qualifier.as_deref() {
                    Some(module) => {
                        let module = self.python_absolute(file, module);
                        // `from a import *` leads to module `a`.
                        let path = match name {
                            "*" => module,
                            _ => format!("{module}.{name}"),
                        };
                        vec![(Some(alias), self.lookup_absolute(spec.language, &path, "."))]
                    }
                    None => {
                        // `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`.
                        let bound = if alias != name {
                            name.to_owned()
                        } else {
                            name.split('.').next().unwrap_or(name).to_owned()
                        };
                        let local = alias.split('.').next().unwrap_or(&alias).to_owned();
                        vec![(
                            Some(local),
                            self.lookup_absolute(spec.language, &bound, "."),
                        )]
                    }
                }
            }
            ModulePath::GoPackage => {
                let path = r.target.trim_matches('"');
                let target = match self.go_package(file, path) {
                    Some(dir) => Target::Package(dir),
                    None => Target::External(path.to_owned()),
                };
                let name = r
                    .qualifier
                    .clone()
                    .unwrap_or_else(|| self.go_package_name(&target, path));
                vec![(Some(name), target)]
            }
            ModulePath::FilePath => {
                let (name, alias) = ecma_specifier(&r.target);
                match r.qualifier.as_deref() {
                    // `import './x.js'`: the module itself.
                    None => vec![(None, self.ecma_module(file, name))],
                    Some(module) => {
                        let target = match self.ecma_module(file, module) {
                            // `* as ns`, or `export *`: the module itself.
                            Target::Symbols(files, _) if name == "*" => Target::Symbols(files, 1.0),
                            // What the module defines or re-exports as `name`; else the module.
                            Target::Symbols(files, _) => {
                                let found: Vec<usize> = files
                                    .iter()
                                    .flat_map(|&f| self.ecma_export(f, name))
                                    .collect();
                                if found.is_empty() {
                                    Target::Symbols(files, 1.0)
                                } else {
                                    Target::Symbols(found, 1.0)
                                }
                            }
                            // `* as ns`; `import React from 'react'` and `const path =
                            // require('path')`, which name the module by its own name.
                            _ if name == "*" || is_named_after(name, module) => {
                                Target::External(module.to_owned())
                            }
                            _ => Target::External(format!("{module}.{name}")),
                        };
                        // `export * from './a'` binds no name here: `ecma_export` follows it.
                        let bound = (alias != "*").then_some(alias);
                        vec![(bound, target)]
                    }
                }
            }
        }
    }

    /// A path written in symbol `from` made absolute (`crate::…`, or `name::…` in a crate with
    /// a manifest), or `None` for a glob of an unknown module. `self` and `super` count from
    /// the module `from` is in: an inline one (`mod tests { use super::*; }`), else its file's.
    fn rust_absolute(&self, from: usize, path: &str) -> Option<String> {
        let file = self.file_of[from];
        let root = self.crate_root(file);
        let own = self
            .inline_module(from)
            .or_else(|| self.prefix_of.get(&file).cloned())
            .unwrap_or_else(|| root.to_owned());
        let mut segments: Vec<&str> = path.split("::").collect();
        let mut base: Vec<String> = Vec::new();
        match segments.first().copied() {
            Some(crates::CRATE) => {
                base.push(root.to_owned());
                segments.remove(0);
            }
            Some("self") => {
                base = own.split("::").map(str::to_owned).collect();
                segments.remove(0);
            }
            Some("super") => {
                base = own.split("::").map(str::to_owned).collect();
                while segments.first() == Some(&"super") {
                    base.pop();
                    segments.remove(0);
                }
            }
            // Since Rust 2018 a path may start at a module declared in this one (`mod cache;`
            // then `use cache::LruCache;`).
            Some(first) => {
                let child = format!("{own}::{first}");
                let declared = self.by_qualified.get(child.as_str()).is_some_and(|found| {
                    found
                        .iter()
                        .any(|&m| self.symbols[m].kind == SymbolKind::Module)
                });
                if declared {
                    base = own.split("::").map(str::to_owned).collect();
                }
            }
            _ => {}
        }
        base.extend(segments.iter().map(|s| (*s).to_owned()));
        if base.is_empty() {
            return None;
        }
        Some(base.join("::"))
    }

    /// The path of the inline module (`mod tests { … }`) that `from` is or is in, if any.
    fn inline_module(&self, from: usize) -> Option<String> {
        let file = self.file_of[from];
        let mut scope = Some(from);
        while let Some(s) = scope.filter(|&s| s != file) {
            if self.symbols[s].kind == SymbolKind::Module {
                return Some(self.qualified[s].to_string());
            }
            scope = self.parent(s);
        }
        None
    }

    /// What `crate` means in a Rust file: its crate's name where its manifest was found.
    fn crate_root(&self, file: usize) -> &str {
        self.crate_names
            .get(self.symbols[file].path.as_str())
            .copied()
            .unwrap_or(crates::CRATE)
    }

    /// `from ..pkg import x` → the absolute module of `..pkg` seen from `file`.
    fn python_absolute(&self, file: usize, module: &str) -> String {
        let dots = module.len() - module.trim_start_matches('.').len();
        if dots == 0 {
            return module.to_owned();
        }
        let own = self.prefix_of.get(&file).cloned().unwrap_or_default();
        let mut package: Vec<&str> = own.split('.').filter(|s| !s.is_empty()).collect();
        // A package's `__init__.py` is the package itself; another file's package is its parent.
        if !self.symbols[file].path.ends_with("__init__.py") {
            package.pop();
        }
        for _ in 1..dots {
            package.pop();
        }
        let rest = &module[dots..];
        if !rest.is_empty() {
            package.push(rest);
        }
        package.join(".")
    }

    /// An ECMAScript module specifier → its file, resolved like bundlers do (extension and
    /// `/index` optional); anything not relative is a package, the repository's own where a
    /// `package.json` names it.
    fn ecma_module(&self, file: usize, specifier: &str) -> Target {
        if !specifier.starts_with('.') {
            return self.npm_module(specifier).map_or_else(
                || Target::External(specifier.to_owned()),
                |f| Target::Symbols(vec![f], 1.0),
            );
        }
        let mut parts: Vec<&str> = dir_of(&self.symbols[file].path)
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        for segment in specifier.split('/') {
            match segment {
                "." | "" => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        match self.ecma_file(&parts.join("/")) {
            Some(f) => Target::Symbols(vec![f], 1.0),
            None => Target::External(specifier.to_owned()),
        }
    }

    /// A bare specifier naming a package of the repository (`@tanstack/query-core`, or a path
    /// inside it) → its source file: under the package's `src/` first, where monorepos keep
    /// what their `main` is built from, then at its root, then under `lib/`.
    fn npm_module(&self, specifier: &str) -> Option<usize> {
        let &(name, root) = self.npm_packages.iter().find(|(name, _)| {
            specifier
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })?;
        let inside = specifier[name.len()..].trim_start_matches('/');
        ["src", "", "lib"].iter().find_map(|dir| {
            let parts = [root, dir, inside];
            let joined: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
            self.ecma_file(&joined.join("/"))
        })
    }

    /// The file a resolved module path names, extension and `/index` optional.
    fn ecma_file(&self, joined: &str) -> Option<usize> {
        let stem = ["ts", "tsx", "js", "jsx", "mjs", "cjs", "mts", "cts"]
            .iter()
            .find_map(|ext| joined.strip_suffix(&format!(".{ext}")))
            .unwrap_or(joined);
        const EXTENSIONS: [&str; 8] = ["ts", "tsx", "d.ts", "js", "jsx", "mjs", "cjs", "mts"];
        std::iter::once(joined.to_owned())
            .chain(EXTENSIONS.iter().map(|e| format!("{stem}.{e}")))
            .chain(EXTENSIONS.iter().map(|e| format!("{stem}/index.{e}")))
            .find_map(|candidate| self.file_by_path.get(candidate.as_str()).copied())
    }

    /// An absolute path (`crate::a::B`, `pkg.mod.f`): exact, else by its trailing segments,
    /// else external.
    fn lookup_absolute(&self, language: Language, path: &str, sep: &str) -> Target {
        self.defined_at(language, path, sep)
            .or_else(|| self.by_suffix(language, path, sep))
            .unwrap_or_else(|| Target::External(path.to_owned()))
    }

    /// What absolute `path` names exactly: a definition, a module's files, or what a module
    /// re-exports; `None` where none.
    fn defined_at(&self, language: Language, path: &str, sep: &str) -> Option<Target> {
        if let Some(found) = self.by_qualified.get(path) {
            return Some(Target::Symbols(found.clone(), 1.0));
        }
        // A module path with no declaration of its own (`crate`, a Rust file's module): its files.
        let files: Vec<usize> = self
            .module_files
            .get(path)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&f| self.symbols[f].language == language)
            .collect();
        if !files.is_empty() {
            return Some(Target::Symbols(files, 1.0));
        }
        self.through_reexports(language, path, sep)
    }

    /// Symbols whose qualified name ends with `path` minus its first segment (two segments at
    /// least), in `language`.
    fn by_suffix(&self, language: Language, path: &str, sep: &str) -> Option<Target> {
        let (head, last) = path.rsplit_once(sep)?;
        // Two segments at least: `std::fmt` must not find every method named `fmt`.
        let (_, rest) = head.split_once(sep)?;
        let suffix = format!("{sep}{rest}{sep}{last}");
        self.among_named(last, SUFFIX_CONFIDENCE, |s| {
            s.language == language && s.qualified_name.ends_with(&suffix)
        })
    }

    /// The symbols named `name` that `keep` accepts, each at `confidence` split among them;
    /// `None` for none, or for more than [`MAX_CANDIDATES`].
    fn among_named(
        &self,
        name: &str,
        confidence: f32,
        keep: impl Fn(&Symbol) -> bool,
    ) -> Option<Target> {
        among(self.named(name, keep), confidence)
    }

    /// The symbols named `name` that `keep` accepts.
    fn named(&self, name: &str, keep: impl Fn(&Symbol) -> bool) -> Vec<usize> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&c| keep(&self.symbols[c]))
            .collect()
    }

    /// A name as written in symbol `from`: scopes, imports, package, then the whole repository.
    fn lookup_name(&self, from: usize, name: &str, types_only: bool) -> Target {
        let spec = self.spec(from);
        let self_type = ["Self", "this", "self", "cls"].contains(&name);
        if self_type {
            if let Some(t) = self.owner_type(from) {
                return Target::Symbols(vec![t], 1.0);
            }
        }
        let mut scope = Some(from);
        while let Some(s) = scope {
            let found = self.child_named(s, name, false);
            if !found.is_empty() {
                return Target::Symbols(found, 1.0);
            }
            if self.symbols[s].name == name && s != self.file_of[from] {
                return Target::Symbols(vec![s], 1.0);
            }
            scope = self.parent(s);
        }
        let file = self.file_of[from];
        if let Some(target) = self.imports.get(&file).and_then(|t| t.get(name)) {
            return target.clone();
        }
        if let Some(found) = self.through_globs(file, name) {
            return found;
        }
        if spec.prelude.binary_search(&name).is_ok() {
            return Target::External(name.to_owned());
        }
        if spec.module_path == ModulePath::GoPackage {
            let found = self.package_member(dir_of(&self.symbols[file].path), name);
            if !found.is_empty() {
                return Target::Symbols(found, 1.0);
            }
            // Past its package, Go looks a bare name up only in the universe block (`any`,
            // `len`, `error`): another package's names are always qualified (`pkg.Name`).
            return Target::External(name.to_owned());
        }
        // Rust's crate root and Python's packages are reachable by their path.
        if let Some(found) = self.by_qualified.get(name) {
            return Target::Symbols(found.clone(), 1.0);
        }
        // A crate of the workspace by its name (`polars_core::…`): its root's files.
        if spec.module_path == ModulePath::RustCrate {
            if let Some(files) = self.module_files.get(name) {
                return Target::Symbols(files.clone(), 1.0);
            }
        }
        let language = self.symbols[from].language;
        self.among_named(name, GLOBAL_NAME_CONFIDENCE, |s| {
            s.kind != SymbolKind::Method
                && s.parent.is_some()
                && s.language == language
                && (!types_only || is_type_kind(s.kind))
        })
        .unwrap_or_else(|| Target::External(name.to_owned()))
    }

    /// `name` as a Rust or Python glob import brings it into `file` (`use crate::prelude::*;`,
    /// `from .misc import *`): what the first module that has it defines or re-exports.
    fn through_globs(&self, file: usize, name: &str) -> Option<Target> {
        let spec = self.spec(file);
        if !matches!(
            spec.module_path,
            ModulePath::RustCrate | ModulePath::PythonDotted
        ) {
            return None;
        }
        self.glob_modules(file).find_map(|m| {
            let key = (m, name.to_owned());
            if let Some(known) = self.glob_names.borrow().get(&key) {
                return known.clone();
            }
            let found = self.glob_member(self.module_path(m)?, name, spec.separator);
            self.glob_names.borrow_mut().insert(key, found.clone());
            found
        })
    }

    /// The repository's modules that `file` imports by a glob, in order.
    fn glob_modules(&self, file: usize) -> impl Iterator<Item = usize> + '_ {
        self.globs
            .get(&file)
            .into_iter()
            .flatten()
            .filter_map(|glob| match glob {
                Target::Symbols(modules, _) => Some(modules),
                _ => None,
            })
            .flatten()
            .copied()
    }

    /// What `module` has as `name`: its own definition or import of it, else the nearest of the
    /// modules its globs reach ([`Self::glob_closure`]) that has one. Only a name something in
    /// the repository is called or imported as can be found: the rest (`Ok`, `Vec`, what the
    /// language's prelude has) would each look through every module a prelude reaches.
    fn glob_member(&self, module: &str, name: &str, sep: &str) -> Option<Target> {
        if !self.by_name.contains_key(name) && !self.imported_names.contains(name) {
            return None;
        }
        self.glob_closure(module).iter().find_map(|m| {
            if let Some(found) = self.by_qualified.get(format!("{m}{sep}{name}").as_str()) {
                return Some(Target::Symbols(found.clone(), 1.0));
            }
            self.module_files
                .get(m)?
                .iter()
                .filter_map(|f| self.imports.get(f)?.get(name))
                .find(|t| matches!(t, Target::Symbols(..)))
                .cloned()
        })
    }

    /// `module`, then the modules its globs import, theirs, and so on, each once, nearest first
    /// (at most [`MAX_GLOB_MODULES`]); computed once per module.
    fn glob_closure(&self, module: &str) -> Rc<[String]> {
        if let Some(known) = self.glob_closures.borrow().get(module) {
            return known.clone();
        }
        let mut reached = vec![module.to_owned()];
        let mut seen: HashSet<&str> = HashSet::from([module]);
        let mut next = 0;
        while next < reached.len() && reached.len() < MAX_GLOB_MODULES {
            let files = self
                .module_files
                .get(&reached[next])
                .map_or(&[][..], Vec::as_slice);
            next += 1;
            let globbed = files
                .iter()
                .flat_map(|&f| self.glob_modules(f))
                .filter_map(|m| self.module_path(m));
            for path in globbed {
                if seen.insert(path) {
                    reached.push(path.to_owned());
                }
            }
        }
        let reached: Rc<[String]> = reached.into();
        self.glob_closures
            .borrow_mut()
            .insert(module.to_owned(), reached.clone());
        reached
    }

    /// A path as written in symbol `from` (`a::b::C`, `pkg.Type`, `Name`).
    fn lookup_path(&self, from: usize, path: &str, types_only: bool) -> Target {
        let sep = self.spec(from).separator;
        let (first, rest) = match path.split_once(sep) {
            Some((first, rest)) => (first, Some(rest)),
            None => (path, None),
        };
        if first == crates::CRATE || first == "super" || (first == "self" && sep == "::") {
            let absolute = self
                .rust_absolute(from, path)
                .unwrap_or_else(|| path.to_owned());
            return self.lookup_absolute(self.symbols[from].language, &absolute, sep);
        }
        let head = self.lookup_name(from, first, types_only && rest.is_none());
        let Some(rest) = rest else { return head };
        match head {
            Target::Symbols(found, confidence) => {
                let mut reached = Vec::new();
                for &h in &found {
                    let qualified = format!("{}{sep}{rest}", self.qualified[h]);
                    if let Some(q) = self.by_qualified.get(qualified.as_str()) {
                        reached.extend(q.iter().copied());
                    } else if let Some(prefix) = self.prefix_of.get(&h) {
                        // A file or Python module: its items carry the module prefix, and
                        // what it re-exports is reached through it.
                        let full = format!("{prefix}{sep}{rest}");
                        match self.by_qualified.get(full.as_str()) {
                            Some(q) => reached.extend(q.iter().copied()),
                            None => reached.extend(self.reexported(&[h], rest)),
                        }
                    } else if !rest.contains(sep) {
                        reached.extend(self.member(h, rest));
                    }
                }
                if reached.is_empty() {
                    self.by_suffix(self.symbols[from].language, path, sep)
                        .unwrap_or_else(|| Target::External(path.to_owned()))
                } else {
                    Target::Symbols(reached, confidence)
                }
            }
            Target::Package(dir) => {
                let found = self.package_member(&dir, rest.split(sep).next().unwrap_or(rest));
                if found.is_empty() {
                    Target::External(path.to_owned())
                } else {
                    Target::Symbols(found, 1.0)
                }
            }
            Target::External(head) => Target::External(format!("{head}{sep}{rest}")),
        }
    }

    /// A member `name` of type `t`, or of what it implements.
    fn member(&self, t: usize, name: &str) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut queue = vec![t];
        while let Some(ty) = queue.pop() {
            if !seen.insert(ty) {
                continue;
            }
            let found = self.child_named(ty, name, true);
            if !found.is_empty() {
                return found;
            }
            if let Some(supers) = self.supertypes.get(&ty) {
                queue.extend(supers.iter().rev().copied());
            }
        }
        // Methods of a type declared outside its file (Rust impl blocks, Go receivers) hang
        // under their file; their qualified name still says whose they are.
        let qualified = format!("{}{}{name}", self.qualified[t], self.spec(t).separator);
        self.by_qualified
            .get(qualified.as_str())
            .cloned()
            .unwrap_or_default()
    }

    /// The type whose member `from` is (or is inside).
    fn owner_type(&self, from: usize) -> Option<usize> {
        let mut scope = Some(from);
        while let Some(s) = scope {
            if self.symbols[s].kind.owns_methods() {
                return Some(s);
            }
            scope = self.parent(s);
        }
        // A method in an impl block or with a receiver: its qualified name names the type.
        let sep = self.spec(from).separator;
        let owner = self.qualified[from]
            .strip_suffix(self.symbols[from].name.as_str())?
            .strip_suffix(sep)?;
        if let Some(found) = self.by_qualified.get(owner) {
            return found
                .iter()
                .copied()
                .find(|&t| self.symbols[t].kind.owns_methods());
        }
        let name = owner.rsplit(sep).next()?;
        let types: Vec<usize> = self
            .by_name
            .get(name)?
            .iter()
            .copied()
            .filter(|&t| self.symbols[t].kind.owns_methods())
            .collect();
        (types.len() == 1).then(|| types[0])
    }

    /// The names that mean "this object" inside `from`: the language's, or a Go receiver's.
    fn is_self(&self, from: usize, qualifier: &str) -> bool {
        if ["self", "Self", "this", "cls"].contains(&qualifier) {
            return true;
        }
        let s = &self.symbols[from];
        s.kind == SymbolKind::Method
            && self.spec(from).module_path == ModulePath::GoPackage
            && go_receiver(&s.signature) == Some(qualifier)
    }

    fn resolve_call(&self, from: usize, r: &RawReference) -> Target {
        let sep = self.spec(from).separator;
        let Some(qualifier) = r.qualifier.as_deref() else {
            return self.lookup_name(from, &r.target, false);
        };
        // `super().m()` (Python), `super.m()` (ECMAScript): the first supertype's `m`.
        if sep != "::" && (qualifier == "super" || qualifier.starts_with("super(")) {
            let supers = self
                .owner_type(from)
                .and_then(|t| self.supertypes.get(&t))
                .into_iter()
                .flatten();
            for &t in supers {
                let found = self.member(t, &r.target);
                if !found.is_empty() {
                    return Target::Symbols(found, 1.0);
                }
            }
            return self.by_method_name(from, &r.target);
        }
        // `self::helper()` in Rust is a path from the current module, not a method on `self`.
        let module_path = sep == "::" && qualifier == "self" && !r.receiver;
        if !module_path && self.is_self(from, qualifier) {
            if let Some(t) = self.owner_type(from) {
                let found = self.member(t, &r.target);
                if !found.is_empty() {
                    return Target::Symbols(found, 1.0);
                }
            }
            return self.by_method_name(from, &r.target);
        }
        // A method on a value whose type its bindings tell (`reg := registry.New()`, `q: Queue`).
        if r.receiver || sep == "." {
            if let Some(t) = self.receiver_type(from, qualifier) {
                let found = self.member(t, &r.target);
                if !found.is_empty() {
                    return Target::Symbols(found, 1.0);
                }
            }
        }
        // A method on a value whose type is not known (`args.iter()`, `G.add_edge()` on a
        // parameter `G`).
        let first = qualifier.split(sep).next().unwrap_or(qualifier);
        if r.receiver || (sep != "::" && self.is_bound(from, first)) {
            return self.by_method_name(from, &r.target);
        }
        if is_path(qualifier, sep) {
            match self.lookup_path(from, qualifier, false) {
                Target::Symbols(found, confidence) => {
                    let members: Vec<usize> = found
                        .iter()
                        .flat_map(|&h| self.member(h, &r.target))
                        .collect();
                    if !members.is_empty() {
                        return Target::Symbols(members, confidence);
                    }
                    let reexported = self.reexported(&found, &r.target);
                    if !reexported.is_empty() {
                        return Target::Symbols(reexported, confidence);
                    }
                }
                Target::Package(dir) => {
                    return self.lookup_path_in_package(&dir, &r.target, qualifier, sep);
                }
                Target::External(path)
                    if self.is_imported(from, qualifier, sep)
                        || !is_local_value(qualifier, sep) =>
                {
                    // `tokio::spawn` in tokio's tests: the crate's own item.
                    let written = format!("{qualifier}{sep}{}", r.target);
                    if let Some(found) = self.own_crate_path(from, &written) {
                        return Target::Symbols(found, SUFFIX_CONFIDENCE);
                    }
                    return Target::External(format!("{path}{sep}{}", r.target));
                }
                Target::External(_) => {}
            }
        }
        // A method on a value whose type the syntax does not show.
        self.by_method_name(from, &r.target)
    }

    /// Whether the first segment of `path` is a name the file of `from` imports.
    fn is_imported(&self, from: usize, path: &str, sep: &str) -> bool {
        let first = path.split(sep).next().unwrap_or(path);
        self.imports
            .get(&self.file_of[from])
            .is_some_and(|table| table.contains_key(first))
    }

    /// The directory of the repository's Go package that import path `path` names, imported by
    /// `file`: below the module (`go.mod`) whose path begins it, the most specific first, else
    /// in the `vendor/` directory of `file`'s own module. Where no `go.mod` was read (a
    /// GOPATH-era repository), the longest directory `path` ends with.
    fn go_package(&self, file: usize, path: &str) -> Option<String> {
        let is_package = |dir: &str| self.package_files(dir).next().is_some();
        if self.go_modules.is_empty() {
            return self
                .files_in_dir
                .keys()
                .filter(|dir| {
                    let head = path.strip_suffix(**dir);
                    !dir.is_empty() && head.is_some_and(|h| h.is_empty() || h.ends_with('/'))
                })
                .filter(|dir| is_package(dir))
                .max_by_key(|dir| (dir.len(), **dir))
                .map(|dir| (*dir).to_owned());
        }
        let under_module = self.go_modules.iter().filter_map(|&(module, root)| {
            let rest = match path.strip_prefix(module) {
                _ if module == GO_STD_MODULE => path,
                Some("") => "",
                Some(rest) => rest.strip_prefix('/')?,
                None => return None,
            };
            Some(join(root, "/", rest))
        });
        let importer = &self.symbols[file].path;
        let own_root = self
            .go_modules
            .iter()
            .map(|&(_, root)| root)
            .filter(|root| {
                let tail = importer.strip_prefix(*root);
                root.is_empty() || tail.is_some_and(|t| t.starts_with('/'))
            })
            .max_by_key(|root| root.len());
        let vendored = own_root.map(|root| join(root, "/", &format!("vendor/{path}")));
        under_module.chain(vendored).find(|dir| is_package(dir))
    }

    /// The name a Go import binds where it gives none: the imported package's own (its
    /// `package` clause), else its path's last element, a major version (`/v2`, `yaml.v3`)
    /// dropped as the go command's convention has it.
    fn go_package_name(&self, target: &Target, path: &str) -> String {
        if let Target::Package(dir) = target {
            let declared = self
                .package_files(dir)
                .flat_map(|f| &self.children[f])
                .map(|&c| &self.symbols[c])
                .filter(|s| s.kind == SymbolKind::Module)
                .map(|s| s.name.as_str())
                .find(|name| !name.ends_with("_test"));
            if let Some(name) = declared {
                return name.to_owned();
            }
        }
        let mut elements = path.rsplit('/');
        let last = elements.next().unwrap_or(path);
        let last = match elements.next() {
            Some(parent) if is_major_version(last) => parent,
            _ => last,
        };
        match last.rsplit_once('.') {
            Some((name, version)) if is_major_version(version) => name,
            _ => last,
        }
        .to_owned()
    }

    /// The Go files of the package in `dir`.
    fn package_files(&self, dir: &str) -> impl Iterator<Item = usize> + '_ {
        self.files_in_dir
            .get(dir)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&f| self.symbols[f].language == Language::Go)
    }

    /// The top-level symbols named `name` of the Go package in `dir`.
    fn package_member(&self, dir: &str, name: &str) -> Vec<usize> {
        self.package_files(dir)
            .flat_map(|f| self.child_named(f, name, false))
            .collect()
    }

    fn lookup_path_in_package(&self, dir: &str, name: &str, qualifier: &str, sep: &str) -> Target {
        let found = self.package_member(dir, name);
        if found.is_empty() {
            Target::External(format!("{qualifier}{sep}{name}"))
        } else {
            Target::Symbols(found, 1.0)
        }
    }

    /// A method called on a value of unknown type: the repository's methods of that name,
    /// unless the language's standard types have one of that name too (`builtin_methods`).
    /// Where one of them is the method all the others override, it is that one.
    fn by_method_name(&self, from: usize, name: &str) -> Target {
        let spec = self.spec(from);
        let language = self.symbols[from].language;
        let external = || Target::External(format!("{}{name}", spec.separator));
        if spec.builtin_methods.binary_search(&name).is_ok() {
            return external();
        }
        let methods = self.named(name, |s| {
            s.kind == SymbolKind::Method && s.language == language
        });
        if let Some(root) = self.overridden_by_all(&methods) {
            return Target::Symbols(vec![root], METHOD_NAME_CONFIDENCE);
        }
        among(methods, METHOD_NAME_CONFIDENCE).unwrap_or_else(external)
    }

    /// Of several methods of one name, the one whose type all the others' types descend from
    /// (`Graph.add_edge` of `DiGraph.add_edge`, `MultiGraph.add_edge`, …): a call through any
    /// of them is declared there.
    fn overridden_by_all(&self, methods: &[usize]) -> Option<usize> {
        if methods.len() < 2 {
            return None;
        }
        let owners: Vec<usize> = methods
            .iter()
            .map(|&m| self.owner_type(m))
            .collect::<Option<_>>()?;
        let mut common = self.ancestors(owners[0]);
        for &owner in &owners[1..] {
            let ancestors = self.ancestors(owner);
            common.retain(|t| ancestors.contains(t));
            if common.is_empty() {
                return None;
            }
        }
        owners
            .iter()
            .position(|o| common.contains(o))
            .map(|i| methods[i])
    }

    /// Type `t` and every type it implements or extends, transitively.
    fn ancestors(&self, t: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut queue = vec![t];
        while let Some(ty) = queue.pop() {
            if seen.insert(ty) {
                queue.extend(self.supertypes.get(&ty).into_iter().flatten().copied());
            }
        }
        seen
    }

    /// Go: a struct implements an interface when its method set covers the interface's.
    fn go_interfaces(&self, out: &mut Edges) {
        let mut methods_of: HashMap<usize, HashSet<&str>> = HashMap::new();
        for (i, s) in self.symbols.iter().enumerate() {
            if s.kind == SymbolKind::Method
                && s.language.spec().module_path == ModulePath::GoPackage
            {
                if let Some(t) = self.owner_type(i) {
                    methods_of.entry(t).or_default().insert(s.name.as_str());
                }
            }
        }
        let mut types: Vec<(&usize, &HashSet<&str>)> = methods_of
            .iter()
            .filter(|(t, _)| self.symbols[**t].kind != SymbolKind::Interface)
            .collect();
        types.sort_by_key(|(t, _)| **t);
        for (&interface, required) in &methods_of {
            if self.symbols[interface].kind != SymbolKind::Interface {
                continue;
            }
            for (&t, has) in &types {
                if required.is_subset(has) {
                    out.push(
                        self.symbols,
                        t,
                        Node::Symbol(interface),
                        EdgeKind::Implements,
                        1.0,
                    );
                }
            }
        }
    }
}

/// `found`, each at `confidence` split among them; `None` for none, or for more than
/// [`MAX_CANDIDATES`].
fn among(found: Vec<usize>, confidence: f32) -> Option<Target> {
    match found.len() {
        n @ 1..=MAX_CANDIDATES => Some(Target::Symbols(found, confidence / n as f32)),
        _ => None,
    }
}

fn is_type_kind(kind: SymbolKind) -> bool {
    kind.owns_methods() || matches!(kind, SymbolKind::TypeAlias | SymbolKind::Type)
}

/// `K`, `T`, `V`: a generic parameter, not a type anyone defines.
fn is_type_parameter(name: &str) -> bool {
    name.len() == 1 && name.chars().all(|c| c.is_ascii_uppercase())
}

fn strip_generics(name: &str) -> &str {
    name.split('<').next().unwrap_or(name).trim()
}

/// Go: a major-version path element, `v2` in `example.com/m/v2`.
fn is_major_version(element: &str) -> bool {
    element
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Identifiers joined by the separator: a name or path, not an expression.
fn is_path(text: &str, sep: &str) -> bool {
    text.split(sep).all(|segment| {
        let mut chars = segment.chars();
        chars
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
    })
}

/// `store.get()`, `r.mu.Lock()`: a path that starts with a lower-case name found nowhere is a
/// value (a local, a parameter, a field), so the call is a method on a type the syntax does not
/// show. Rust's `::` paths only ever name modules and types.
fn is_local_value(qualifier: &str, sep: &str) -> bool {
    sep != "::"
        && qualifier
            .split(sep)
            .next()
            .is_some_and(|first| first.starts_with(|c: char| c.is_lowercase() || c == '_'))
}

/// `a as b` → (`a`, `b`); `a` → (`a`, `a`).
fn split_alias(text: &str) -> (&str, String) {
    match text.split_once(" as ") {
        Some((name, alias)) => (name.trim(), alias.trim().to_owned()),
        None => (text.trim(), text.trim().to_owned()),
    }
}

/// An ECMAScript import or export specifier (`A`, `A as B`, `type A`, `* as ns`), or a
/// CommonJS one (`B: C` in `const { B: C } = require(…)`) → the name it takes from the module
/// and the name it binds.
fn ecma_specifier(text: &str) -> (&str, String) {
    if let Some((name, alias)) = text.split_once(':') {
        return (name.trim(), alias.trim().to_owned());
    }
    let text = text.strip_prefix("type ").unwrap_or(text);
    split_alias(text.strip_prefix("typeof ").unwrap_or(text))
}

/// Whether `name` is the last element of module specifier `module`, but for case and
/// punctuation: `React` for `react`; not `EventEmitter` for `events`.
fn is_named_after(name: &str, module: &str) -> bool {
    let letters = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    letters(name) == letters(module.rsplit('/').next().unwrap_or(module))
}

/// Go: `func (r *Registry) Add(…)` → `r`.
fn go_receiver(signature: &str) -> Option<&str> {
    let rest = signature
        .strip_prefix("func")?
        .trim_start()
        .strip_prefix('(')?;
    let name = rest.split([' ', ')']).next()?;
    (!name.is_empty()).then_some(name)
}

/// A Rust `use` tree → each full path with the name it binds (`None` for `self` of an
/// unnamed root, `*` for globs): `a::{b, c::{d as e, self}}` → `a::b` (b), `a::c::d` (e),
/// `a::c` (c).
pub(crate) fn expand_use(tree: &str) -> Vec<(String, Option<String>)> {
    let compact = crate::extract::collapse_whitespace(tree);
    let mut out = Vec::new();
    expand_into("", &compact, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<(String, Option<String>)>) {
    let tree = tree.trim().trim_end_matches(';').trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = tree[open + 1..]
            .trim_end()
            .strip_suffix('}')
            .unwrap_or(&tree[open + 1..]);
        let base = join(prefix, "::", head);
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_into(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand_into(&base, &inner[start..], out);
        return;
    }
    if tree.is_empty() {
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim().to_owned())),
        None => (tree, None),
    };
    if path == "self" {
        let name = prefix.rsplit("::").next().map(str::to_owned);
        out.push((prefix.to_owned(), alias.or(name)));
        return;
    }
    let full = join(prefix, "::", path);
    let name = alias.or_else(|| full.rsplit("::").next().map(str::to_owned));
    out.push((full, name));
}

/// `prefix`, `sep`, `path`; either one possibly empty.
fn join(prefix: &str, sep: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (_, true) => prefix.to_owned(),
        _ => format!("{prefix}{sep}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_expand() {
        assert_eq!(
            expand_use("a::{b, c::{d as e, self}}"),
            vec![
                ("a::b".into(), Some("b".into())),
                ("a::c::d".into(), Some("e".into())),
                ("a::c".into(), Some("c".into())),
            ]
        );
        assert_eq!(
            expand_use("std::fmt"),
            vec![("std::fmt".into(), Some("fmt".into()))]
        );
        assert_eq!(expand_use("a::*"), vec![("a::*".into(), Some("*".into()))]);
    }

    #[test]
    fn go_receivers() {
        assert_eq!(go_receiver("func (r *Registry) Add(s Shape)"), Some("r"));
        assert_eq!(go_receiver("func Add()"), None);
    }
}
