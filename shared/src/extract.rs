//! One file's source → its symbols, raw references, chunks and diagnostics.
//!
//! Everything language-specific comes from [`crate::lang`] (the queries and the spec table); this
//! module only walks what the queries captured.

use std::cell::RefCell;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::{Deserialize, Serialize};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, Parser, QueryCursor, QueryMatch, Tree};

use crate::chunk::{chunk_symbol, truncate, ChunkInput, LineIndex};
use crate::hash::stable_id;
use crate::lang::{
    children_of, macro_items, repair, Capture, DocComments, Kid, Language, LanguageSpec,
    ModulePath, Scratch, VisibilityRule, Visit, Walk,
};
use crate::symbols::{Chunk, RawReference, ReferenceKind, Span, Symbol, SymbolKind, Visibility};

/// Longest signature kept; longer ones (huge generic bounds, generated code) are cut.
pub const MAX_SIGNATURE_BYTES: usize = 1024;
/// The most macro calls inside macro calls whose items are parsed (`cfg_rt! { cfg_net! { … } }`):
/// real crates nest feature gates two or three deep, and each level parses the file again.
pub const MAX_MACRO_NESTING: usize = 4;
/// Longest reference target or qualifier kept: enough for any real path, short enough that a
/// chained expression used as a receiver does not copy half a file into every reference.
pub const MAX_REFERENCE_BYTES: usize = 200;
/// Longest import kept: a Rust use tree lists every name it imports, and one cut short loses
/// them (the longest seen in ruff and polars take about 700 bytes).
pub const MAX_IMPORT_BYTES: usize = 4096;

/// A problem found while parsing a file; the file is still ingested with what was recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// What one file yields.
#[derive(Debug, Default)]
pub struct FileOutline {
    /// The file-level symbol first, then every symbol in source order.
    pub symbols: Vec<Symbol>,
    /// Chunks of each symbol, in the order of `symbols`.
    pub chunks: Vec<Chunk>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses files, reusing one tree-sitter parser and cursor.
#[derive(Default)]
pub struct Extractor {
    parser: Parser,
    cursor: QueryCursor,
}

impl std::fmt::Debug for Extractor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extractor").finish_non_exhaustive()
    }
}

/// What one walk of the query over a file finds.
#[derive(Default)]
struct Scan<'t> {
    defs: Vec<Def<'t>>,
    module_doc: Vec<Node<'t>>,
    references: Vec<Found<'t>>,
    /// Comments (`true`) and attributes, sorted by position.
    trivia: Vec<(Node<'t>, bool)>,
    /// Where each branch node (`LanguageSpec::branch_kinds`) starts, in tree order.
    branches: Vec<usize>,
}

/// A raw reference as found: its target node, its kind, and its qualifier node with whether
/// that is a receiver.
type Found<'t> = (Node<'t>, ReferenceKind, Option<(Node<'t>, bool)>);

/// Definitions by (node, name), with the index of the first pattern that found each.
type DefsByNode<'t> = HashMap<(usize, Option<usize>), (usize, Def<'t>)>;

/// Takes one match of pattern `pattern_index` (its captures as capture index and node) into
/// the scan: a definition (merged with other matches of its node and name), a reference,
/// comments and attributes, module doc nodes.
fn absorb<'t>(
    pattern_index: usize,
    matched: impl Iterator<Item = (u32, Node<'t>)>,
    captures: &[Capture],
    scan: &mut Scan<'t>,
    by_node: &mut DefsByNode<'t>,
) {
    let mut def: Option<(Node<'t>, Option<SymbolKind>)> = None;
    let mut reference = None;
    let (mut name, mut visibility, mut doc, mut owner, mut qualifier) =
        (None, None, None, None, None);
    let mut exposed = false;
    for (index, node) in matched {
        match captures[index as usize] {
            Capture::Definition(kind) => def = Some((node, Some(kind))),
            Capture::Scope { exposed: e } => {
                def = Some((node, None));
                exposed = e;
            }
            Capture::Name => name = Some(node),
            Capture::Visibility => visibility = Some(node),
            Capture::Doc => doc = Some(node),
            Capture::Owner => owner = Some(node),
            Capture::ModuleDoc => scan.module_doc.push(node),
            Capture::Reference(kind) => reference = Some((node, kind)),
            Capture::Qualifier { receiver } => qualifier = Some((node, receiver)),
            Capture::Comment => scan.trivia.push((node, true)),
            Capture::Attribute => scan.trivia.push((node, false)),
            Capture::Other => {}
        }
    }
    if let Some((node, kind)) = reference {
        scan.references.push((node, kind, qualifier));
    }
    let Some((node, kind)) = def else { return };
    let found = Def {
        node,
        kind,
        exposes_members: exposed,
        name,
        visibility,
        doc,
        owner,
    };
    match by_node.entry((node.id(), name.map(|n| n.id()))) {
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert((pattern_index, found));
        }
        std::collections::hash_map::Entry::Occupied(mut slot) => {
            let (pattern, def) = slot.get_mut();
            // The first pattern's kind wins; captures from every pattern are merged.
            if pattern_index < *pattern {
                *pattern = pattern_index;
                def.kind = kind;
            }
            def.merge(&found);
        }
    }
}

/// [`absorb`] for a match of tree-sitter's query cursor.
fn absorb_match<'t>(
    m: &QueryMatch<'_, 't>,
    captures: &[Capture],
    scan: &mut Scan<'t>,
    by_node: &mut DefsByNode<'t>,
) {
    let matched = m.captures().iter().map(|c| (c.index, c.node));
    absorb(m.pattern_index, matched, captures, scan, by_node);
}

/// One definition found by the symbols query, before names are qualified.
struct Def<'t> {
    node: Node<'t>,
    /// `None` for a scope (an impl block): it qualifies names but is not a symbol.
    kind: Option<SymbolKind>,
    /// A scope whose members are as visible as what it implements (`impl Trait for T`).
    exposes_members: bool,
    name: Option<Node<'t>>,
    visibility: Option<Node<'t>>,
    doc: Option<Node<'t>>,
    owner: Option<Node<'t>>,
}

impl<'t> Def<'t> {
    /// Adds what another match of the same node captured.
    fn merge(&mut self, other: &Def<'t>) {
        self.name = self.name.or(other.name);
        self.visibility = self.visibility.or(other.visibility);
        self.doc = self.doc.or(other.doc);
        self.owner = self.owner.or(other.owner);
        self.exposes_members |= other.exposes_members;
    }
}

impl Extractor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses only, for benchmarks that compare against a bare parse.
    pub fn parse(&mut self, language: Language, source: &str) -> Option<Tree> {
        self.parser.set_language(&language.grammar()).ok()?;
        self.parser.parse(source, None)
    }

    /// Extracts symbols, references and chunks from one file.
    pub fn extract(&mut self, path: &str, language: Language, source: &str) -> FileOutline {
        let Some(mut tree) = self.parse(language, source) else {
            // Only a cancelled or timed-out parse returns None; neither is set here.
            return FileOutline {
                diagnostics: vec![Diagnostic {
                    path: path.to_owned(),
                    line: 1,
                    message: "tree-sitter returned no tree".to_owned(),
                }],
                ..FileOutline::default()
            };
        };
        // Where the grammar rejects the file, a known bug of it may be why: the repaired
        // text's tree is kept where it has less in error (its offsets are the original's).
        if tree.root_node().has_error() {
            if let Some(repaired) = repair::repaired(language, source) {
                if let Some(better) = self.parse(language, &repaired) {
                    if bytes_in_error(&better) < bytes_in_error(&tree) {
                        tree = better;
                    }
                }
            }
        }
        if language == Language::Rust {
            tree = self.with_macro_items(source, tree);
        }
        FileWalk::new(self, path, language, source, &tree).run()
    }

    /// Rust: `tree` of `source` with the items inside item-position macro calls parsed as
    /// items ([`macro_items`]), calls in calls too, down to [`MAX_MACRO_NESTING`]; its offsets
    /// are the original's. A call stays a call where that would put more of the file in error.
    fn with_macro_items(&mut self, source: &str, mut tree: Tree) -> Tree {
        let original = source.as_bytes();
        let mut text = original.to_vec();
        // Calls whose body is not items, by where they start.
        let mut rejected = HashSet::default();
        for _ in 0..MAX_MACRO_NESTING {
            let calls: Vec<_> = macro_items::item_macros(&tree, &text)
                .into_iter()
                .filter(|c| !rejected.contains(&c.start))
                .collect();
            if calls.is_empty() {
                break;
            }
            // Most bodies are items: all at once, in one parse; else one by one, each an
            // incremental parse (one bad body may put the whole file in error).
            if let Some(next) = self.blanked(&tree, &mut text, original, &calls) {
                tree = next;
                continue;
            }
            for call in &calls {
                match self.blanked(&tree, &mut text, original, std::slice::from_ref(call)) {
                    Some(next) => tree = next,
                    None => {
                        rejected.insert(call.start);
                    }
                }
            }
        }
        tree
    }

    /// The tree of `text` (whose tree is `tree`) with `calls` blanked, where it has no more in
    /// error than `tree`; else `None`, and `text` as it was.
    fn blanked(
        &mut self,
        tree: &Tree,
        text: &mut [u8],
        original: &[u8],
        calls: &[macro_items::ItemMacro],
    ) -> Option<Tree> {
        let mut edited = tree.clone();
        for call in calls {
            call.blank(text, &mut edited);
        }
        match self.parser.parse(&*text, Some(&edited)) {
            Some(next) if bytes_in_error(&next) <= bytes_in_error(tree) => Some(next),
            _ => {
                for call in calls {
                    call.restore(text, original);
                }
                None
            }
        }
    }
}

/// How much of a tree is in error: the bytes of its error nodes, one for each missing node.
fn bytes_in_error(tree: &Tree) -> usize {
    let mut total = 0;
    for_each_error(tree.root_node(), |node| {
        total += if node.is_missing() {
            1
        } else {
            node.byte_range().len()
        };
    });
    total
}

/// Calls `f` with each error or missing node under `root`, in order, not descending into them.
fn for_each_error<'t>(root: Node<'t>, mut f: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            f(node);
        } else if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
}

struct FileWalk<'a, 't> {
    cursor: &'a mut QueryCursor,
    path: &'a str,
    spec: &'static LanguageSpec,
    source: &'a str,
    root: Node<'t>,
    lines: LineIndex,
    /// Parents looked up so far, by node id: tree-sitter finds a node's parent by descending
    /// from the root, and a definition's parent is asked for by its wrapper, doc and visibility.
    parents: RefCell<HashMap<usize, Option<Node<'t>>>>,
}

impl<'a, 't> FileWalk<'a, 't> {
    fn new(
        extractor: &'a mut Extractor,
        path: &'a str,
        language: Language,
        source: &'a str,
        tree: &'t Tree,
    ) -> Self {
        FileWalk {
            cursor: &mut extractor.cursor,
            path,
            spec: language.spec(),
            source,
            root: tree.root_node(),
            lines: LineIndex::new(source),
            parents: RefCell::default(),
        }
    }

    fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        *self
            .parents
            .borrow_mut()
            .entry(node.id())
            .or_insert_with(|| node.parent())
    }

    fn text(&self, node: Node) -> &'a str {
        &self.source[node.byte_range()]
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            start_byte: start,
            end_byte: end,
            start_line: self.lines.line_of(start),
            end_line: self.lines.line_of(end.saturating_sub(1).max(start)),
        }
    }

    fn run(mut self) -> FileOutline {
        let language = self.spec.language;
        let Scan {
            defs,
            module_doc,
            references,
            trivia,
            branches,
        } = self.scan();
        let package = defs
            .iter()
            .find(|d| d.kind == Some(SymbolKind::Module) && self.parent(d.node) == Some(self.root))
            .and_then(|d| d.name)
            .map(|n| self.text(n));
        let prefix = module_prefix(self.path, self.spec, package);

        // The file-level symbol: a Python file is a module; other languages get a file node.
        let (file_kind, file_name, file_qualified) = match self.spec.module_path {
            ModulePath::PythonDotted => {
                let name = prefix.rsplit('.').next().unwrap_or(&prefix).to_owned();
                (SymbolKind::Module, name, prefix.clone())
            }
            _ => {
                let name = self.path.rsplit('/').next().unwrap_or(self.path).to_owned();
                (SymbolKind::File, name, self.path.to_owned())
            }
        };
        let file_doc = Some(
            module_doc
                .iter()
                .map(|n| clean_docstring(self.text(*n)))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .filter(|d| !d.is_empty());
        let mut symbols = vec![Symbol {
            id: stable_id(&["file", self.path]),
            kind: file_kind,
            name: file_name,
            qualified_name: file_qualified,
            language,
            path: self.path.to_owned(),
            span: self.span(0, self.source.len()),
            parent: None,
            signature: String::new(),
            doc: file_doc,
            visibility: None,
            references: Vec::new(),
            complexity: 1,
        }];
        // Per symbol: its def index (None for the file), and per def its symbol index.
        let mut symbol_def: Vec<Option<usize>> = vec![None];
        // Per symbol: where its text starts including the doc comment above it, and whether its
        // doc lies outside its own text (so its chunk must add it).
        let mut text_starts: Vec<usize> = vec![0];
        let mut doc_outside: Vec<bool> = vec![false];
        let mut def_symbol: Vec<Option<usize>> = vec![None; defs.len()];
        // Per def: the qualified name that its children extend.
        let mut def_qualified: Vec<String> = Vec::with_capacity(defs.len());
        // Lexical nesting: the innermost enclosing def of each def.
        let mut enclosing: Vec<Option<usize>> = Vec::with_capacity(defs.len());
        let mut stack: Vec<usize> = Vec::new();
        let mut seen_ids: HashMap<String, usize> = HashMap::default();
        let mut owned: Vec<(usize, String)> = Vec::new();

        for (i, def) in defs.iter().enumerate() {
            while let Some(&top) = stack.last() {
                // Names declared together (`var a, b int`) share a node and are siblings.
                if defs[top].node.end_byte() > def.node.start_byte() && defs[top].node != def.node {
                    break;
                }
                stack.pop();
            }
            let outer = stack.last().copied();
            enclosing.push(outer);
            stack.push(i);

            let name = def
                .name
                .map(|n| normalize_name(self.text(n)))
                .unwrap_or_default();
            let is_package = def.kind == Some(SymbolKind::Module)
                && self.spec.module_path == ModulePath::GoPackage
                && outer.is_none();
            let owner = def.owner.map(|n| normalize_name(self.text(n)));
            let base = match (&owner, outer) {
                (Some(owner), _) => format!("{prefix}{}{owner}", self.spec.separator),
                (None, Some(o)) => def_qualified[o].clone(),
                (None, None) => prefix.clone(),
            };
            let qualified = if is_package || base.is_empty() {
                name.clone()
            } else {
                format!("{base}{}{name}", self.spec.separator)
            };
            def_qualified.push(qualified.clone());
            let Some(mut kind) = def.kind else { continue };
            if name.is_empty() {
                continue;
            }
            let container = outer.and_then(|o| defs[o].kind);
            let in_type = owner.is_some()
                || outer.is_some_and(|o| defs[o].kind.is_none())
                || container.is_some_and(SymbolKind::owns_methods);
            if kind == SymbolKind::Function && in_type {
                kind = SymbolKind::Method;
            } else if kind == SymbolKind::Method && !in_type {
                kind = SymbolKind::Function;
            }

            // The logical parent: the owning type for methods declared outside it (Rust impl
            // blocks, Go receivers), else the innermost enclosing symbol, else the file.
            let symbol_parent = nearest_symbol(outer, &enclosing, &def_symbol);
            let parent_id = symbol_parent
                .map(|s| symbols[s].id.clone())
                .unwrap_or_else(|| symbols[0].id.clone());
            let owner_path = match (&owner, outer) {
                (Some(_), _) => Some(base.clone()),
                (None, Some(o)) if defs[o].kind.is_none() => Some(def_qualified[o].clone()),
                _ => None,
            };

            let occurrence = seen_ids
                .entry(format!("{}\0{qualified}", kind.name()))
                .and_modify(|n| *n += 1)
                .or_insert(0);
            let mut id_parts = vec![self.path, kind.name(), qualified.as_str()];
            let occurrence_text = occurrence.to_string();
            if *occurrence > 0 {
                id_parts.push(&occurrence_text);
            }
            let id = stable_id(&id_parts);
            if let Some(owner_path) = owner_path {
                owned.push((symbols.len(), owner_path));
            }
            let mut visibility = self.visibility(def, kind, &name);
            // Members without a modifier of a trait, or of `impl Trait for T`, are as visible
            // as the trait.
            if def.visibility.is_none() && self.spec.visibility == VisibilityRule::Modifier {
                if let Some(o) = outer {
                    if defs[o].exposes_members {
                        visibility = Some(Visibility::Public);
                    } else if defs[o].kind == Some(SymbolKind::Trait) {
                        visibility = def_symbol[o].and_then(|t| symbols[t].visibility);
                    }
                }
            }
            let outer = self.outer(def.node);
            let (doc, doc_start) = self.doc(def, outer, &trivia);
            let outer_start = outer.start_byte();
            // In its parent's chunk, the symbol (with the doc above it) is cut to its signature.
            text_starts.push(doc_start.map_or(outer_start, |d| d.min(outer_start)));
            doc_outside.push(doc_start.is_some());
            symbols.push(Symbol {
                id,
                kind,
                name,
                qualified_name: qualified,
                language,
                path: self.path.to_owned(),
                span: self.span(def.node.start_byte(), def.node.end_byte()),
                parent: Some(parent_id),
                signature: self.signature(def.node, outer, kind),
                doc,
                visibility,
                references: Vec::new(),
                complexity: 1,
            });
            symbol_def.push(Some(i));
            def_symbol[i] = Some(symbols.len() - 1);
        }

        // Methods of impl blocks and Go receivers belong to their type when it is in this file.
        let by_qualified: HashMap<&str, usize> = symbols
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind.owns_methods())
            .map(|(i, s)| (s.qualified_name.as_str(), i))
            .collect();
        let reparent: Vec<(usize, String)> = owned
            .into_iter()
            .filter_map(|(s, owner)| {
                by_qualified
                    .get(owner.as_str())
                    .map(|&t| (s, symbols[t].id.clone()))
            })
            .collect();
        for (s, parent) in reparent {
            symbols[s].parent = Some(parent);
        }

        // Each def's byte range, read from the tree once (every read is a call into tree-sitter).
        let ranges: Vec<(usize, usize)> = defs
            .iter()
            .map(|d| (d.node.start_byte(), d.node.end_byte()))
            .collect();
        let owners = Owners {
            ranges: &ranges,
            def_symbol: &def_symbol,
            enclosing: &enclosing,
        };
        self.references(references, &defs, &owners, &mut symbols);
        for pos in branches {
            symbols[owners.at(pos)].complexity += 1;
        }

        let chunks = self.chunks(
            &defs,
            &symbol_def,
            &def_symbol,
            &enclosing,
            &symbols,
            (&text_starts, &doc_outside),
        );
        FileOutline {
            symbols,
            chunks,
            diagnostics: self.diagnostics(),
        }
    }

    /// Walks the tree once with the language's query: definitions sorted outermost-first, the
    /// module doc's nodes, and raw references (target, kind, qualifier) in no particular order.
    fn scan(&mut self) -> Scan<'t> {
        let queries = self.spec.language.queries();
        // Keyed by node and name: one node can declare several names (`var a, b int`), and a
        // pattern without a name (a docstring's) adds to the named definition of its node.
        let mut by_node: DefsByNode<'t> = HashMap::default();
        let mut scan = Scan::default();
        let source = self.source.as_bytes();
        // One walk over the tree: it records single-node patterns' captures and the branch
        // nodes, matches the plain patterns against a node's children once it has visited
        // them, and starts the query cursor only at nodes whose kind begins one of the other
        // patterns (a plain walk costs far less per node than a query cursor's).
        if queries.query_everywhere {
            self.cursor.set_max_start_depth(None);
            let mut matches = self.cursor.matches(&queries.query, self.root, source);
            while let Some(m) = matches.next() {
                absorb_match(m, &queries.captures, &mut scan, &mut by_node);
            }
        }
        self.cursor.set_max_start_depth(Some(0));
        // For each node entered and not yet left, innermost last: its plain patterns and where
        // its children start in `kids`, which the walk fills as it enters them. `cursor` reads
        // the children of a node not entered; `scratch` serves patterns that look deeper.
        let mut entered: Vec<Option<(&[usize], usize)>> = Vec::new();
        let mut kids: Vec<Kid<'t>> = Vec::new();
        let mut cursor = self.root.walk();
        let mut scratch = Scratch::new(self.root.walk());
        let tokens_at = token_positions(self.source, &queries.anonymous_roles);
        let mut walk = Walk::new(self.root, &tokens_at);
        while let Some(visit) = walk.next() {
            let node = match visit {
                Visit::Enter(node) => node,
                Visit::Leave(node) => {
                    if let Some(Some((patterns, start))) = entered.pop() {
                        for &p in patterns {
                            let (index, pattern) = &queries.patterns[p];
                            let kids = &kids[start..];
                            pattern.matches(node, kids, source, &mut scratch, &mut |captures| {
                                let captures = captures.iter().copied();
                                absorb(
                                    *index,
                                    captures,
                                    &queries.captures,
                                    &mut scan,
                                    &mut by_node,
                                );
                            });
                        }
                        kids.truncate(start);
                    }
                    continue;
                }
            };
            let kind = node.kind_id();
            let role = queries.kinds.get(usize::from(kind));
            if entered.last().is_some_and(Option::is_some) {
                kids.push(match role {
                    Some(role) => Kid::of_kind(node, walk.field(), kind, role.named),
                    // An error node's id is past the grammar's kinds.
                    None => Kid::new(node, walk.field()),
                });
            }
            let Some(role) = role else {
                entered.push(None);
                continue;
            };
            if role.branch {
                scan.branches.push(node.start_byte());
            }
            match role.single {
                Some(Capture::Reference(kind)) => scan.references.push((node, kind, None)),
                Some(Capture::Comment) => scan.trivia.push((node, true)),
                Some(Capture::Attribute) => scan.trivia.push((node, false)),
                _ => {}
            }
            let patterns =
                (!role.patterns.is_empty()).then_some((role.patterns.as_slice(), kids.len()));
            entered.push(patterns);
            if role.query && !queries.query_everywhere {
                let mut matches = self.cursor.matches(&queries.query, node, source);
                while let Some(m) = matches.next() {
                    absorb_match(m, &queries.captures, &mut scan, &mut by_node);
                }
            }
            // A syntax error inside a comment or string may hold recovered code.
            if (role.opaque
                || role.tokens && !queries.holds_anonymous_role(&self.source[node.byte_range()]))
                && !node.has_error()
            {
                walk.skip_children();
                if patterns.is_some() {
                    children_of(node, &mut cursor, &mut kids);
                }
            }
        }
        let (named, unnamed): (Vec<_>, Vec<_>) =
            by_node.into_values().partition(|(_, d)| d.name.is_some());
        let mut defs: Vec<(usize, Def<'t>)> = named;
        let mut by_id: HashMap<usize, Vec<usize>> = HashMap::default();
        for (i, (_, d)) in defs.iter().enumerate() {
            by_id.entry(d.node.id()).or_default().push(i);
        }
        for (pattern, extra) in unnamed {
            let Some(targets) = by_id.get(&extra.node.id()) else {
                defs.push((pattern, extra));
                continue;
            };
            for &i in targets {
                defs[i].1.merge(&extra);
            }
        }
        // Position first; the pattern and name only break ties between definitions of one
        // node, so the order never depends on node addresses or hash order.
        defs.sort_by_cached_key(|(pattern, d)| {
            (
                d.node.start_byte(),
                std::cmp::Reverse(d.node.end_byte()),
                d.name.map(|n| n.start_byte()),
                *pattern,
            )
        });
        scan.defs = defs.into_iter().map(|(_, d)| d).collect();
        // Outermost trivia only (a comment inside a decorator's arguments is part of it), so
        // the list is sorted by end as well as start.
        scan.trivia
            .sort_by_cached_key(|(n, _)| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
        let mut covered = 0;
        scan.trivia.retain(|(n, _)| {
            let keep = n.start_byte() >= covered;
            covered = covered.max(n.end_byte());
            keep
        });
        scan.module_doc.sort_by_key(|n| n.start_byte());
        scan.module_doc.dedup();
        scan
    }

    /// The declaration without its body, from `start` (the wrapper that opens with it, see
    /// [`Self::outer`]): the text before the body, or the first line for
    /// declarations whose value is their substance (constants, aliases) or that have no body.
    fn signature(&self, node: Node<'t>, start: Node<'t>, kind: SymbolKind) -> String {
        let valued = matches!(
            kind,
            SymbolKind::Constant | SymbolKind::Static | SymbolKind::TypeAlias | SymbolKind::Type
        );
        let body = self
            .body(node)
            .filter(|b| !valued && b.start_byte() > node.start_byte());
        let text = match body {
            Some(body) => &self.source[start.start_byte()..body.start_byte()],
            None => self.source[start.start_byte()..node.end_byte()]
                .lines()
                .next()
                .unwrap_or(""),
        };
        // `export const f: {` → `export const f`: what opens the body or value is not part of it.
        let text = text
            .trim_start()
            .trim_end_matches(|c: char| c.is_whitespace() || "{:=;".contains(c));
        truncate(text, MAX_SIGNATURE_BYTES).to_owned()
    }

    /// The outermost wrapper that opens with `node` on its line (`export function f`,
    /// `const f = …`; not Go's `const (` group).
    fn outer(&self, node: Node<'t>) -> Node<'t> {
        let mut outer = node;
        if self.spec.wrapper_kinds.is_empty() {
            return outer;
        }
        while let Some(parent) = self.parent(outer) {
            let opens_with = parent.named_child(0).is_some_and(|first| first == outer)
                && parent.start_position().row == outer.start_position().row;
            if !self.spec.wrapper_kinds.contains(&parent.kind()) || !opens_with {
                break;
            }
            outer = parent;
        }
        outer
    }

    /// A definition's body: the `body_fields` node, and its own body where it has one (the
    /// block of an arrow function that is a variable's value).
    fn body(&self, node: Node<'t>) -> Option<Node<'t>> {
        let mut body = self
            .spec
            .body_fields
            .iter()
            .find_map(|f| node.child_by_field_name(f))?;
        while let Some(inner) = body.child_by_field_name("body") {
            body = inner;
        }
        Some(body)
    }

    /// The doc comment or docstring, and where a doc comment above the declaration starts.
    fn doc(
        &self,
        def: &Def<'t>,
        outer: Node<'t>,
        trivia: &[(Node<'t>, bool)],
    ) -> (Option<String>, Option<usize>) {
        if let Some(doc) = def.doc {
            return (
                Some(clean_docstring(self.text(doc))).filter(|d| !d.is_empty()),
                None,
            );
        }
        if self.spec.doc_comments == DocComments::None {
            return (None, None);
        }
        // Directly above the declaration, else above a wrapper around it alone
        // (`@decorator export class …`).
        let mut anchor = outer;
        loop {
            let comments = preceding_comments(anchor, trivia, self.source);
            if !comments.is_empty() {
                return match self.doc_from_comments(&comments) {
                    Some((doc, start)) => (Some(doc), Some(start)),
                    None => (None, None),
                };
            }
            if self.spec.wrapper_kinds.is_empty() {
                return (None, None);
            }
            match self.parent(anchor) {
                Some(parent)
                    if self.spec.wrapper_kinds.contains(&parent.kind())
                        && sole_declaration(parent, trivia) =>
                {
                    anchor = parent
                }
                _ => return (None, None),
            }
        }
    }

    /// The doc text of the comments above a declaration, and where the first comment that is
    /// part of it starts (plain comments above a Rust item are not its doc).
    fn doc_from_comments(&self, comments: &[Node]) -> Option<(String, usize)> {
        let doc_line = |text: &str| -> Option<String> {
            match self.spec.doc_comments {
                DocComments::RustOuter => {
                    if let Some(rest) = text.strip_prefix("///") {
                        (!rest.starts_with('/'))
                            .then(|| strip_one_space(rest).trim_end().to_owned())
                    } else if text.starts_with("/**") && !text.starts_with("/***") {
                        Some(clean_block_comment(text))
                    } else {
                        None
                    }
                }
                DocComments::LineComments => text
                    .strip_prefix("//")
                    .map(|t| strip_one_space(t).trim_end().to_owned()),
                DocComments::JsDoc => text.starts_with("/**").then(|| clean_block_comment(text)),
                DocComments::None => None,
            }
        };
        // A JSDoc block is the last comment alone; line comments run together.
        let candidates = match self.spec.doc_comments {
            DocComments::JsDoc => &comments[comments.len().saturating_sub(1)..],
            _ => comments,
        };
        let mut start = None;
        let mut lines = Vec::new();
        for comment in candidates {
            if let Some(line) = doc_line(self.text(*comment)) {
                start.get_or_insert(comment.start_byte());
                lines.push(line);
            }
        }
        let doc = lines.join("\n").trim().to_owned();
        Some((doc, start?)).filter(|(d, _)| !d.is_empty())
    }

    fn visibility(&self, def: &Def<'t>, kind: SymbolKind, name: &str) -> Option<Visibility> {
        let modifier = def.visibility.map(|n| self.text(n));
        match self.spec.visibility {
            // A Go package name is lower-case by convention and says nothing of visibility.
            VisibilityRule::Capitalized if kind == SymbolKind::Module => None,
            VisibilityRule::Modifier => Some(match modifier {
                Some("pub") => Visibility::Public,
                Some(_) => Visibility::Restricted,
                None => Visibility::Private,
            }),
            VisibilityRule::Capitalized => Some(if name.starts_with(|c: char| c.is_uppercase()) {
                Visibility::Public
            } else {
                Visibility::Private
            }),
            VisibilityRule::Underscore => Some(if name.starts_with('_') && !name.ends_with("__") {
                Visibility::Private
            } else {
                Visibility::Public
            }),
            VisibilityRule::Export {
                export_node,
                member_containers,
            } => {
                if name.starts_with('#') {
                    return Some(Visibility::Private);
                }
                match modifier {
                    Some("private") => return Some(Visibility::Private),
                    Some("protected") => return Some(Visibility::Protected),
                    Some("public") => return Some(Visibility::Public),
                    _ => {}
                }
                let mut node = def.node;
                while let Some(parent) = self.parent(node) {
                    if parent.kind() == export_node {
                        return Some(Visibility::Public);
                    }
                    if !self.spec.wrapper_kinds.contains(&parent.kind()) {
                        break;
                    }
                    node = parent;
                }
                // Class members are public unless marked; top-level declarations are module-private.
                let in_class = self
                    .parent(def.node)
                    .is_some_and(|p| member_containers.contains(&p.kind()));
                Some(if in_class {
                    Visibility::Public
                } else {
                    Visibility::Private
                })
            }
        }
    }

    fn references(
        &self,
        found: Vec<Found<'t>>,
        defs: &[Def<'t>],
        owners: &Owners,
        symbols: &mut [Symbol],
    ) {
        let name_nodes: HashSet<usize> =
            defs.iter().filter_map(|d| d.name.map(|n| n.id())).collect();
        let source = self.source;
        let text = |node: Node| &source[node.byte_range()];
        // A node captured twice keeps its most specific kind (a trait in `impl Trait for T` is
        // an implements, not also a type); a capture inside another capture of the same kind
        // (`Handler` in `http.Handler`), or a type inside any capture, is part of that one.
        let mut kinds: HashMap<usize, ReferenceKind> =
            HashMap::with_capacity_and_hasher(found.len(), Default::default());
        for (node, kind, _) in &found {
            let entry = kinds.entry(node.id()).or_insert(*kind);
            if *entry == ReferenceKind::Type {
                *entry = *kind;
            }
        }
        // Each node's range is read from its tree once (a call into tree-sitter per read).
        let mut found: Vec<_> = found
            .into_iter()
            .filter(|(node, kind, _)| {
                // A variable's binding names the variable itself (`var reg = registry.New()`).
                kinds.get(&node.id()) == Some(kind)
                    && (*kind == ReferenceKind::Binding || !name_nodes.contains(&node.id()))
            })
            .map(|(node, kind, qualifier)| (node.byte_range(), node, kind, qualifier))
            .collect();
        // By key and index (the entries are large to move while sorting).
        found.sort_by_cached_key(|(range, _, kind, _)| {
            (range.start, std::cmp::Reverse(range.end), *kind)
        });
        // A node captured twice as one kind is one reference, with a qualifier where either
        // capture has one (Python's `g = Graph()` is any assignment and one from a call).
        found.dedup_by(
            |(_, node, kind, qualifier), (_, kept_node, kept_kind, kept)| {
                let same = (node.id(), *kind) == (kept_node.id(), *kept_kind);
                if same && kept.is_none() {
                    *kept = *qualifier;
                }
                same
            },
        );
        let mut open: Vec<(usize, ReferenceKind)> = Vec::new();
        let mut kept = Vec::with_capacity(found.len());
        for (range, node, kind, qualifier) in found {
            while open.last().is_some_and(|&(end, _)| end <= range.start) {
                open.pop();
            }
            let inside = open
                .iter()
                .any(|&(_, outer)| outer == kind || kind == ReferenceKind::Type);
            open.push((range.end, kind));
            if !inside {
                kept.push((range, node, kind, qualifier));
            }
        }
        for (range, node, kind, qualifier) in kept {
            let target = reference_text(&source[range.clone()], kind);
            if target.is_empty() {
                continue;
            }
            let owner = owners.at(range.start);
            symbols[owner].references.push(RawReference {
                kind,
                target,
                qualifier: qualifier
                    .map(|(q, _)| reference_text(text(q), kind))
                    .filter(|q| !q.is_empty()),
                receiver: qualifier.is_some_and(|(_, receiver)| receiver),
                line: node.start_position().row + 1,
            });
        }
        // In source order (a class's bases in the order it lists them: Python's method
        // resolution order), each once.
        for symbol in symbols.iter_mut() {
            let mut seen = HashSet::default();
            let keep: Vec<bool> = symbol
                .references
                .iter()
                .map(|r| seen.insert((r.line, r.kind, &r.target, &r.qualifier)))
                .collect();
            let mut keep = keep.into_iter();
            symbol.references.retain(|_| keep.next().unwrap_or(true));
        }
    }

    fn chunks(
        &self,
        defs: &[Def<'t>],
        symbol_def: &[Option<usize>],
        def_symbol: &[Option<usize>],
        enclosing: &[Option<usize>],
        symbols: &[Symbol],
        (text_starts, doc_outside): (&[usize], &[bool]),
    ) -> Vec<Chunk> {
        // Lexical children of each symbol: the symbols whose nearest enclosing symbol it is.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); symbols.len()];
        for (s, def) in symbol_def.iter().enumerate().skip(1) {
            let Some(d) = def else { continue };
            let parent = nearest_symbol(enclosing[*d], enclosing, def_symbol).unwrap_or(0);
            children[parent].push(s);
        }
        let mut chunks = Vec::new();
        for (s, symbol) in symbols.iter().enumerate() {
            let elided: Vec<(usize, usize, &str)> = children[s]
                .iter()
                .map(|&c| {
                    (
                        text_starts[c],
                        symbols[c].span.end_byte,
                        symbols[c].signature.as_str(),
                    )
                })
                .collect();
            let split_points = || -> Vec<usize> {
                let body = match symbol_def[s] {
                    Some(d) => self.body(defs[d].node),
                    None => Some(self.root),
                };
                body.map(|b| {
                    let mut walk = b.walk();
                    b.named_children(&mut walk)
                        .map(|c| c.start_byte())
                        .collect()
                })
                .unwrap_or_default()
            };
            chunks.extend(chunk_symbol(&ChunkInput {
                symbol,
                source: self.source,
                lines: &self.lines,
                elided: &elided,
                split_points: &split_points,
                doc_outside: doc_outside[s],
            }));
        }
        chunks
    }

    fn diagnostics(&self) -> Vec<Diagnostic> {
        if !self.root.has_error() {
            return Vec::new();
        }
        let mut errors = 0usize;
        let mut first: Option<Node> = None;
        for_each_error(self.root, |node| {
            errors += 1;
            first.get_or_insert(node);
        });
        let line = first.map_or(1, |n| n.start_position().row + 1);
        vec![Diagnostic {
            path: self.path.to_owned(),
            line,
            message: format!(
                "syntax error{}: kept what the parser recovered (first at line {line}, {errors} in all)",
                first.filter(|n| n.is_missing()).map(|n| format!(" (missing `{}`)", n.kind())).unwrap_or_default()
            ),
        }]
    }
}

/// Where each of `tokens` begins in `source`, ascending, overlapping ones included: the
/// anonymous nodes the scan's walk enters. A keyword (`and`) counts only as a whole word: a
/// lexer never splits an identifier.
fn token_positions(source: &str, tokens: &[String]) -> Vec<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut at = Vec::new();
    for token in tokens {
        let keyword = token.starts_with(word) || token.ends_with(word);
        let step = token.chars().next().map_or(1, char::len_utf8);
        let mut from = 0;
        while let Some(found) = source
            .get(from..)
            .and_then(|rest| rest.find(token.as_str()))
        {
            let i = from + found;
            from = i + step;
            let whole =
                !source[..i].ends_with(word) && !source[i + token.len()..].starts_with(word);
            if !keyword || whole {
                at.push(i);
            }
        }
    }
    at.sort_unstable();
    at.dedup();
    at
}

/// The comments directly above `anchor` (attributes between them skipped), in source order:
/// found by position among the captured comments and attributes (`trivia`: sorted, none inside
/// another, `true` for comments), with nothing but whitespace between them and no blank line.
/// A comment that trails code on its own line documents that code and ends the run.
fn preceding_comments<'t>(
    anchor: Node<'t>,
    trivia: &[(Node<'t>, bool)],
    source: &str,
) -> Vec<Node<'t>> {
    let mut comments = Vec::new();
    let (mut next_byte, mut next_row) = (anchor.start_byte(), anchor.start_position().row);
    let mut i = trivia.partition_point(|(t, _)| t.end_byte() <= next_byte);
    while i > 0 {
        i -= 1;
        let (node, is_comment) = trivia[i];
        let gap = source.get(node.end_byte()..next_byte).unwrap_or("?");
        if node.end_position().row + 1 < next_row || !gap.trim().is_empty() {
            break;
        }
        let line_start = source[..node.start_byte()].rfind('\n').map_or(0, |p| p + 1);
        if !source[line_start..node.start_byte()].trim().is_empty() {
            break;
        }
        if is_comment {
            comments.push(node);
        }
        (next_byte, next_row) = (node.start_byte(), node.start_position().row);
    }
    comments.reverse();
    comments
}

/// Whether `wrapper` holds one named child besides comments and attributes (not a group such
/// as Go's `const ( … )` or `let a = 1, b = 2`).
fn sole_declaration(wrapper: Node, trivia: &[(Node, bool)]) -> bool {
    let mut cursor = wrapper.walk();
    let is_trivia = |n: &Node| {
        let at = trivia.partition_point(|(t, _)| t.start_byte() < n.start_byte());
        trivia.get(at).is_some_and(|(t, _)| t == n)
    };
    wrapper
        .named_children(&mut cursor)
        .filter(|c| !is_trivia(c))
        .count()
        == 1
}

/// Which symbol's own code holds a position: the defs' byte ranges (sorted by start), with
/// the symbol of each def and the innermost def around each.
struct Owners<'a> {
    ranges: &'a [(usize, usize)],
    def_symbol: &'a [Option<usize>],
    enclosing: &'a [Option<usize>],
}

impl Owners<'_> {
    /// The symbol whose own code holds byte `pos`: the innermost def around it, then up to the
    /// nearest one that is a symbol; the file (0) when none is.
    fn at(&self, pos: usize) -> usize {
        let mut candidate = self
            .ranges
            .partition_point(|&(start, _)| start <= pos)
            .checked_sub(1);
        while let Some(c) = candidate {
            if self.ranges[c].1 > pos {
                break;
            }
            candidate = self.enclosing[c];
        }
        nearest_symbol(candidate, self.enclosing, self.def_symbol).unwrap_or(0)
    }
}

/// The nearest def at or above `start` (following lexical nesting) that became a symbol.
fn nearest_symbol(
    mut start: Option<usize>,
    enclosing: &[Option<usize>],
    def_symbol: &[Option<usize>],
) -> Option<usize> {
    while let Some(d) = start {
        if let Some(s) = def_symbol.get(d).copied().flatten() {
            return Some(s);
        }
        start = enclosing[d];
    }
    None
}

/// Directories whose Rust files are crate roots of their own: binaries (inside `src/`), then
/// tests, examples and benches (at any depth outside it).
const CRATE_ROOT_DIRS: [&str; 4] = ["bin", "tests", "examples", "benches"];

/// The module path that prefixes a file's qualified names.
pub(crate) fn module_prefix(path: &str, spec: &LanguageSpec, package: Option<&str>) -> String {
    let without_ext = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
    let parts: Vec<&str> = without_ext.split('/').filter(|p| !p.is_empty()).collect();
    match spec.module_path {
        ModulePath::RustCrate => {
            // A crate's modules start past its `src/`; its tests, examples and benches, at any
            // depth (`crates/server/tests/it.rs` in a workspace), are crate roots themselves.
            let src = parts.iter().rposition(|p| *p == "src");
            let start = match src {
                Some(i) => i + 1,
                None => parts
                    .iter()
                    .rposition(|p| CRATE_ROOT_DIRS[1..].contains(p))
                    .unwrap_or(0),
            };
            let mut module: Vec<&str> = parts[start..].to_vec();
            // Binaries, tests, examples and benches are crate roots of their own: a file directly
            // in the directory is the root, a directory with a `main.rs` is one too.
            if let Some(&root) = module.first().filter(|r| CRATE_ROOT_DIRS.contains(*r)) {
                if root == "bin" || src.is_none() {
                    module.drain(..module.len().min(2));
                }
            }
            if matches!(module.last(), Some(&("lib" | "main" | "mod")))
                && (module.len() == 1 || module.last() == Some(&"mod"))
            {
                module.pop();
            }
            std::iter::once("crate")
                .chain(module)
                .collect::<Vec<_>>()
                .join("::")
        }
        ModulePath::PythonDotted => {
            let start = usize::from(parts.first() == Some(&"src") && parts.len() > 1);
            let mut module: Vec<&str> = parts[start..].to_vec();
            if module.last() == Some(&"__init__") && module.len() > 1 {
                module.pop();
            }
            module.join(".")
        }
        ModulePath::GoPackage => package.map(str::to_owned).unwrap_or_else(|| {
            parts
                .iter()
                .rev()
                .nth(1)
                .copied()
                .unwrap_or("main")
                .to_owned()
        }),
        ModulePath::FilePath => {
            let mut module = parts;
            if module.last() == Some(&"index") && module.len() > 1 {
                module.pop();
            }
            module.join("/")
        }
    }
}

/// A name as it appears in a qualified name: generics dropped (`Foo<T>` → `Foo`); a type that
/// is all brackets (`(A, B)`, `[T]`) kept whole.
fn normalize_name(text: &str) -> String {
    let cut = text.find(['<', '[', '(']).unwrap_or(text.len());
    let name = if text[..cut].trim().is_empty() {
        text
    } else {
        &text[..cut]
    };
    collapse_whitespace(name)
}

/// `text` trimmed, with each run of whitespace inside it made one space.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let text = text.trim();
    // Most names and targets are already so: copy them without splitting. Printable ASCII is
    // checked by byte; other text by character (Unicode has more whitespace).
    let single_spaced = !text.contains("  ");
    let ascii = text.bytes().all(|b| (b' '..0x7f).contains(&b));
    if single_spaced && (ascii || !text.contains(|c: char| c.is_whitespace() && c != ' ')) {
        return text.to_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A reference target as written, whitespace collapsed, capped; an import's quotes stripped
/// (`"net/http"` → `net/http`).
fn reference_text(text: &str, kind: ReferenceKind) -> String {
    let mut text = text.trim();
    let mut cap = MAX_REFERENCE_BYTES;
    if kind == ReferenceKind::Import {
        text = text.trim_matches(['"', '\'', '`']);
        cap = MAX_IMPORT_BYTES;
    }
    let mut collapsed = collapse_whitespace(text);
    collapsed.truncate(truncate(&collapsed, cap).len());
    collapsed
}

fn strip_one_space(text: &str) -> &str {
    text.strip_prefix(' ').unwrap_or(text)
}

/// `/** … */` → its lines without the leading `*`s.
fn clean_block_comment(text: &str) -> String {
    let inner = text.trim_start_matches("/**").trim_end_matches("*/");
    inner
        .lines()
        .map(|l| {
            let l = l.trim();
            strip_one_space(l.strip_prefix('*').unwrap_or(l)).trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// A Python string literal used as a docstring → its text, dedented like `inspect.cleandoc`;
/// a Rust `//!` line → its text.
fn clean_docstring(literal: &str) -> String {
    if let Some(line) = literal.strip_prefix("//!") {
        return strip_one_space(line).trim_end().to_owned();
    }
    let body = literal.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let body = ["\"\"\"", "'''", "\"", "'"]
        .iter()
        .find_map(|q| body.strip_prefix(q).and_then(|b| b.strip_suffix(q)))
        .unwrap_or(body);
    let mut lines = body.lines();
    let first = lines.next().unwrap_or("").trim().to_owned();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = vec![first];
    out.extend(
        rest.iter()
            .map(|l| l.get(indent..).unwrap_or("").trim_end().to_owned()),
    );
    out.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_prefixes() {
        let rust = Language::Rust.spec();
        assert_eq!(module_prefix("src/lib.rs", rust, None), "crate");
        assert_eq!(
            module_prefix("src/session.rs", rust, None),
            "crate::session"
        );
        assert_eq!(
            module_prefix("crates/x/src/a/mod.rs", rust, None),
            "crate::a"
        );
        assert_eq!(module_prefix("src/a/main.rs", rust, None), "crate::a::main");
        assert_eq!(module_prefix("src/bin/kv.rs", rust, None), "crate");
        assert_eq!(module_prefix("src/bin/kv/main.rs", rust, None), "crate");
        assert_eq!(module_prefix("tests/it.rs", rust, None), "crate");
        assert_eq!(module_prefix("tests/common/mod.rs", rust, None), "crate");
        assert_eq!(module_prefix("crates/x/tests/it.rs", rust, None), "crate");
        assert_eq!(
            module_prefix("crates/x/benches/b/main.rs", rust, None),
            "crate"
        );
        assert_eq!(
            module_prefix("tests/common/util.rs", rust, None),
            "crate::util"
        );
        let py = Language::Python.spec();
        assert_eq!(
            module_prefix("src/requests/sessions.py", py, None),
            "requests.sessions"
        );
        assert_eq!(module_prefix("requests/__init__.py", py, None), "requests");
        assert_eq!(module_prefix("setup.py", py, None), "setup");
        let ts = Language::TypeScript.spec();
        assert_eq!(module_prefix("src/util/index.ts", ts, None), "src/util");
        let go = Language::Go.spec();
        assert_eq!(
            module_prefix("cmd/server/main.go", go, Some("main")),
            "main"
        );
    }

    #[test]
    fn docstrings_are_dedented() {
        assert_eq!(
            clean_docstring("\"\"\"Sum.\n\n    More text.\n    \"\"\""),
            "Sum.\n\nMore text."
        );
        assert_eq!(clean_docstring("r'raw'"), "raw");
        assert_eq!(
            clean_block_comment("/**\n * Adds.\n * @param a x\n */"),
            "Adds.\n@param a x"
        );
    }
}
