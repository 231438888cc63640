//! Per-language knowledge, as data: the grammar, file extensions, how a file's path becomes a
//! module path, how docs and visibility are written, and the tree-sitter queries (`queries/*/*.scm`)
//! that find definitions and references. Adding a language means adding a row here and its
//! query files; the extraction code is shared.

mod builtins;
pub mod macro_items;
mod pattern;
pub mod repair;
mod walk;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::Query;

use crate::symbols::{ReferenceKind, SymbolKind};

pub use pattern::{children_of, Kid, Pattern, Scratch};
pub use walk::{Visit, Walk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    Python,
    Go,
    JavaScript,
    TypeScript,
    Tsx,
}

/// How a file's path becomes the module path that prefixes its symbols' qualified names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulePath {
    /// `src/a/b.rs` → `crate::a::b`; `lib.rs`, `main.rs`, `mod.rs` name their directory.
    RustCrate,
    /// `src/pkg/mod.py` → `pkg.mod`; `__init__.py` names its package.
    PythonDotted,
    /// The name in the file's `package` clause (captured as a root-level `@definition.module`).
    GoPackage,
    /// The path without its extension, `/index` dropped: `src/util/format.ts` → `src/util/format`.
    FilePath,
}

/// How a symbol's visibility is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityRule {
    /// A `@visibility` capture (`pub`, `pub(crate)`, `private`, …); none means private.
    Modifier,
    /// Go: exported names start with an upper-case letter.
    Capitalized,
    /// Python: a leading underscore marks a name private by convention.
    Underscore,
    /// JavaScript / TypeScript: a class member's `@visibility` capture, else `export` (a
    /// wrapping `export_node`); `#name` is private; members of `member_containers` are public
    /// unless marked, other declarations private to their module.
    Export {
        export_node: &'static str,
        member_containers: &'static [&'static str],
    },
}

/// Which comments before a definition are its documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocComments {
    /// Rust: `///` and `/** */` outer doc comments.
    RustOuter,
    /// Go: any `//` comments directly above the declaration.
    LineComments,
    /// JS/TS: a `/** … */` block directly above.
    JsDoc,
    /// Python: only the docstring, captured by the query as `@doc`.
    None,
}

/// Everything the shared extraction needs to know about one language.
#[derive(Debug)]
pub struct LanguageSpec {
    pub language: Language,
    pub extensions: &'static [&'static str],
    pub separator: &'static str,
    pub module_path: ModulePath,
    pub visibility: VisibilityRule,
    pub doc_comments: DocComments,
    /// Node kinds that wrap a definition without being one (`export`, decorators, attributes,
    /// Go's `type (…)` group): doc comments sit above the wrapper.
    pub wrapper_kinds: &'static [&'static str],
    /// The field that holds a definition's body; the signature is the text before it.
    pub body_fields: &'static [&'static str],
    /// Node kinds that add a path through the code (branches, loops, cases, short-circuit
    /// operators): each adds one to the cyclomatic complexity of the symbol it sits in. Every
    /// arm of a `match` or case of a `switch` counts, as lizard and most tools count them.
    /// Anonymous tokens (`&&`) are written as they appear in the grammar.
    pub branch_kinds: &'static [&'static str],
    /// Node kinds the walk does not look inside: comments and string literals, whose parts
    /// are no definition, reference or branch (a test checks this against the grammar's node
    /// types). Rust's doc comments alone are a seventh of a Rust tree's nodes. Not Python's
    /// strings: f-strings hold expressions.
    pub opaque_kinds: &'static [&'static str],
    /// Node kinds that hold unparsed tokens (Rust's macro arguments and `macro_rules!` bodies):
    /// nothing inside is a definition or reference (a test checks this against the grammar's
    /// node types), only anonymous branch tokens (`&&`) may be, so the walk enters one only when
    /// its text holds such a token. A comment inside never documents an item: the closing
    /// delimiter stands between it and anything after. They are a sixth of a Rust tree's nodes.
    pub token_kinds: &'static [&'static str],
    /// Methods of the language's built-in and standard types that code calls on values
    /// everywhere (`list.append`, `Vec::push`, `sync.Mutex.Lock`, `Array.prototype.map`), in
    /// byte order. A call of one on a value whose type the syntax does not show is far likelier
    /// theirs than the repository's only method of that name, so resolution does not match it
    /// by name (it stays an external `.name`): one `Lock` method would otherwise draw every
    /// mutex's calls, and top the PageRank.
    pub builtin_methods: &'static [&'static str],
    /// Names every module sees without importing them (Rust's prelude, Python's builtins), in
    /// byte order: a bare one that scopes, imports and globs do not define is the language's,
    /// never a same-named definition elsewhere in the repository (`Err(e)` is not some impl's
    /// `type Err`).
    pub prelude: &'static [&'static str],
    /// Query sources, concatenated: a family's shared file (`queries/ecma/`) then the language's.
    symbols_query: &'static [&'static str],
    references_query: &'static [&'static str],
}

impl Language {
    pub const ALL: [Language; 6] = [
        Language::Rust,
        Language::Python,
        Language::Go,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Go => "go",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
        }
    }

    /// The language of a path, by extension.
    pub fn from_path(path: &str) -> Option<Language> {
        let file = path.rsplit('/').next().unwrap_or(path);
        let ext = file.rsplit_once('.')?.1;
        Language::ALL
            .into_iter()
            .find(|lang| lang.spec().extensions.contains(&ext))
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }

    pub fn spec(self) -> &'static LanguageSpec {
        match self {
            Language::Rust => &RUST,
            Language::Python => &PYTHON,
            Language::Go => &GO,
            Language::JavaScript => &JAVASCRIPT,
            Language::TypeScript => &TYPESCRIPT,
            Language::Tsx => &TSX,
        }
    }

    /// The compiled queries, built once per process (or isolate).
    pub fn queries(self) -> &'static Queries {
        static CACHE: [OnceLock<Queries>; 6] = [const { OnceLock::new() }; 6];
        let index = Language::ALL.iter().position(|l| *l == self).unwrap_or(0);
        CACHE[index].get_or_init(|| Queries::compile(self))
    }
}

/// What a query capture means to the extractor, by capture name (see the query files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// `@definition.<kind>`: a symbol's node.
    Definition(SymbolKind),
    /// `@scope`: a container that qualifies names without being a symbol (an impl block);
    /// `exposed` (`@scope.exposed`) when its members are as visible as what it implements.
    Scope {
        exposed: bool,
    },
    Name,
    Visibility,
    Doc,
    Owner,
    ModuleDoc,
    /// `@reference.<kind>`: a reference's target.
    Reference(ReferenceKind),
    /// `@qualifier`: the path a reference is reached through; `@qualifier.receiver` (`receiver`)
    /// when it is a value the target is called on (Rust's `x.f()`), not a path.
    Qualifier {
        receiver: bool,
    },
    /// `@comment` and `@attribute`: what may sit between a doc comment and its definition.
    Comment,
    Attribute,
    /// `@_…` and unknown names: used by predicates only.
    Other,
}

impl Capture {
    /// Whether the capture means something on its own, without the rest of a match (a
    /// reference without a qualifier, a comment, an attribute).
    fn is_node_alone(self) -> bool {
        matches!(
            self,
            Capture::Reference(_) | Capture::Comment | Capture::Attribute
        )
    }

    fn from_name(name: &str) -> Capture {
        match name {
            "name" => Capture::Name,
            "visibility" => Capture::Visibility,
            "doc" => Capture::Doc,
            "owner" => Capture::Owner,
            "module_doc" => Capture::ModuleDoc,
            "scope" => Capture::Scope { exposed: false },
            "scope.exposed" => Capture::Scope { exposed: true },
            "qualifier" => Capture::Qualifier { receiver: false },
            "qualifier.receiver" => Capture::Qualifier { receiver: true },
            "comment" => Capture::Comment,
            "attribute" => Capture::Attribute,
            other => other
                .strip_prefix("definition.")
                .and_then(SymbolKind::from_capture)
                .map(Capture::Definition)
                .or_else(|| {
                    other
                        .strip_prefix("reference.")
                        .and_then(ReferenceKind::from_capture)
                        .map(Capture::Reference)
                })
                .unwrap_or(Capture::Other),
        }
    }
}

/// A language's definition and reference queries, compiled into one query so a file's tree is
/// walked once.
#[derive(Debug)]
pub struct Queries {
    /// The patterns that only the query cursor can match: all but the single-node ones, which
    /// [`KindRole::single`] answers, and the plain ones, which are in [`Self::patterns`].
    pub query: Query,
    /// The plain patterns (see [`pattern`]), each with its index in the query files, which
    /// decides between definitions of one node.
    pub patterns: Vec<(usize, Pattern)>,
    /// The meaning of each capture index.
    pub captures: Vec<Capture>,
    /// What the extractor does at a node, per node kind id.
    pub kinds: Vec<KindRole>,
    /// Whether some pattern can start at any node (a wildcard or alternation at its root), so
    /// the query must run over the whole tree rather than only at [`KindRole::query`] nodes.
    pub query_everywhere: bool,
    /// The anonymous kinds with a role (`&&`, Python's `and`), by name, which is their text:
    /// the walk enters named nodes, and anonymous ones only where their text is one of these;
    /// all a [`KindRole::tokens`] node may hold that the walk counts.
    pub anonymous_roles: Vec<String>,
}

impl Queries {
    /// Whether text may hold one of the anonymous kinds with a role (it may also be inside a
    /// string there).
    pub fn holds_anonymous_role(&self, text: &str) -> bool {
        self.anonymous_roles
            .iter()
            .any(|token| text.contains(token.as_str()))
    }
}

/// What a node of one kind means to the extractor's walk over the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindRole {
    /// Some pattern of the query starts at nodes of this kind. Running the query only at such
    /// nodes finds the same matches at a fraction of a full query walk's cost.
    pub query: bool,
    /// The plain patterns (indices into [`Queries::patterns`]) that start at nodes of this kind.
    pub patterns: Vec<usize>,
    /// A pattern that is this node alone (`(line_comment) @comment`) captures it: the walk
    /// records it without starting the query, the most frequent case (type names, comments).
    pub single: Option<Capture>,
    /// The kind is one of the spec's `branch_kinds`.
    pub branch: bool,
    /// The kind is one of the spec's `opaque_kinds`: the walk skips its children.
    pub opaque: bool,
    /// The kind is one of the spec's `token_kinds`: the walk skips its children unless its
    /// text holds one of [`Queries::anonymous_roles`].
    pub tokens: bool,
    /// Nodes of this kind are named (`Node::is_named`, without a call into tree-sitter).
    pub named: bool,
}

impl LanguageSpec {
    /// The definition and reference queries as one source.
    fn query_source(&self) -> String {
        let symbols = self.symbols_query.join("\n");
        format!("{symbols}\n{}", self.references_query.join("\n"))
    }
}

/// Every id of a kind name (grammars alias several symbols to one name), named only or named
/// and anonymous.
fn kind_ids(grammar: &tree_sitter::Language, name: &str, named_only: bool) -> Vec<u16> {
    (0..grammar.node_kind_count() as u16)
        .filter(|&id| {
            grammar.node_kind_for_id(id) == Some(name)
                && (!named_only || grammar.node_kind_is_named(id))
        })
        .collect()
}

/// A pattern that is one named node and a capture, `(kind) @capture`: its kind and capture name.
/// A pattern's text runs to the next pattern, so it may end with comments.
fn single_node_pattern(pattern: &str) -> Option<(&str, &str)> {
    let code = pattern.split(';').next().unwrap_or_default();
    let (kind, rest) = code.trim().strip_prefix('(')?.split_once(')')?;
    let capture = rest.trim().strip_prefix('@')?;
    let word = |s: &str, extra: char| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == extra)
    };
    let kind = kind.trim();
    (word(kind, '_') && kind != "_" && word(capture, '.')).then_some((kind, capture))
}

/// The node kind one pattern starts with, or `None` if it starts with a wildcard, an
/// alternation, a group or an anonymous node.
fn pattern_root(pattern: &str) -> Option<&str> {
    let rest = pattern.trim_start().strip_prefix('(')?;
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..len]).filter(|kind| !kind.is_empty() && *kind != "_")
}

impl Queries {
    fn compile(language: Language) -> Queries {
        let grammar = language.grammar();
        let spec = language.spec();
        let symbols = spec.symbols_query.join("\n");
        let source = spec.query_source();
        // The query files are part of the build and covered by tests for every language, so a
        // failure here is a programming error, not bad input.
        let mut query = Query::new(&grammar, &source).unwrap_or_else(|err| {
            let file = if Query::new(&grammar, &symbols).is_err() {
                "symbols.scm"
            } else {
                "references.scm"
            };
            panic!("queries/{}/{file} is invalid: {err}", language.name())
        });
        let captures: Vec<Capture> = query
            .capture_names()
            .iter()
            .map(|n| Capture::from_name(n))
            .collect();
        let count = grammar.node_kind_count();
        let mut kinds = vec![KindRole::default(); count];
        // Every id of a kind name (grammars alias several symbols to one name), named only or
        // named and anonymous.
        let ids = |name: &str, named_only: bool| -> Vec<usize> {
            let ids = kind_ids(&grammar, name, named_only);
            ids.into_iter().map(usize::from).collect()
        };
        let mut query_everywhere = false;
        let mut walked = Vec::new();
        let mut patterns = Vec::new();
        for pattern in 0..query.pattern_count() {
            let text =
                &source[query.start_byte_for_pattern(pattern)..query.end_byte_for_pattern(pattern)];
            let single = single_node_pattern(text).and_then(|(kind, name)| {
                let capture = Capture::from_name(name);
                let id = grammar.id_for_node_kind(kind, true);
                let free = id != 0 && kinds[usize::from(id)].single.is_none();
                (free && capture.is_node_alone()).then_some((kind, capture))
            });
            if let Some((kind, capture)) = single {
                for id in ids(kind, true) {
                    kinds[id].single = Some(capture);
                }
                walked.push(pattern);
                continue;
            }
            let plain = Pattern::compile(text, &grammar, &query)
                .filter(|plain| !plain.root_kinds().is_empty());
            if let Some(plain) = plain {
                for &id in plain.root_kinds() {
                    kinds[usize::from(id)].patterns.push(patterns.len());
                }
                patterns.push((pattern, plain));
                walked.push(pattern);
                continue;
            }
            match pattern_root(text) {
                Some(root) => ids(root, false)
                    .into_iter()
                    .for_each(|id| kinds[id].query = true),
                None => query_everywhere = true,
            }
        }
        for pattern in walked {
            query.disable_pattern(pattern);
        }
        for (id, role) in kinds.iter_mut().enumerate() {
            let id = id as u16;
            role.branch = grammar.node_kind_for_id(id).is_some_and(|kind| {
                spec.branch_kinds.contains(&kind)
                    && grammar.id_for_node_kind(kind, grammar.node_kind_is_named(id)) == id
            });
            role.named = grammar.node_kind_is_named(id);
            let named_in = |kinds: &[&str]| {
                role.named
                    && grammar
                        .node_kind_for_id(id)
                        .is_some_and(|kind| kinds.contains(&kind))
            };
            (role.opaque, role.tokens) = (named_in(spec.opaque_kinds), named_in(spec.token_kinds));
        }
        let mut anonymous_roles: Vec<String> = (0..count as u16)
            .zip(&kinds)
            .filter(|(_, role)| !role.named && **role != KindRole::default())
            .filter_map(|(id, _)| grammar.node_kind_for_id(id).map(str::to_owned))
            .collect();
        anonymous_roles.sort_unstable();
        anonymous_roles.dedup();
        Queries {
            query,
            patterns,
            captures,
            kinds,
            query_everywhere,
            anonymous_roles,
        }
    }
}

static RUST: LanguageSpec = LanguageSpec {
    language: Language::Rust,
    extensions: &["rs"],
    separator: "::",
    module_path: ModulePath::RustCrate,
    visibility: VisibilityRule::Modifier,
    doc_comments: DocComments::RustOuter,
    wrapper_kinds: &[],
    body_fields: &["body"],
    branch_kinds: &[
        "if_expression",
        "match_arm",
        "while_expression",
        "loop_expression",
        "for_expression",
        "&&",
        "||",
    ],
    opaque_kinds: &[
        "line_comment",
        "block_comment",
        "string_literal",
        "raw_string_literal",
    ],
    token_kinds: &["token_tree", "token_tree_pattern"],
    builtin_methods: builtins::RUST,
    prelude: builtins::RUST_PRELUDE,
    symbols_query: &[include_str!("queries/rust/symbols.scm")],
    references_query: &[include_str!("queries/rust/references.scm")],
};

static PYTHON: LanguageSpec = LanguageSpec {
    language: Language::Python,
    extensions: &["py", "pyi"],
    separator: ".",
    module_path: ModulePath::PythonDotted,
    visibility: VisibilityRule::Underscore,
    doc_comments: DocComments::None,
    wrapper_kinds: &["decorated_definition"],
    body_fields: &["body"],
    branch_kinds: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "while_statement",
        "except_clause",
        "case_clause",
        "conditional_expression",
        "for_in_clause",
        "if_clause",
        "and",
        "or",
    ],
    opaque_kinds: &[],
    token_kinds: &[],
    builtin_methods: builtins::PYTHON,
    prelude: builtins::PYTHON_BUILTINS,
    symbols_query: &[include_str!("queries/python/symbols.scm")],
    references_query: &[include_str!("queries/python/references.scm")],
};

static GO: LanguageSpec = LanguageSpec {
    language: Language::Go,
    extensions: &["go"],
    separator: ".",
    module_path: ModulePath::GoPackage,
    visibility: VisibilityRule::Capitalized,
    doc_comments: DocComments::LineComments,
    wrapper_kinds: &["type_declaration", "const_declaration", "var_declaration"],
    body_fields: &["body"],
    branch_kinds: &[
        "if_statement",
        "for_statement",
        "expression_case",
        "type_case",
        "communication_case",
        "&&",
        "||",
    ],
    opaque_kinds: &["interpreted_string_literal", "raw_string_literal"],
    token_kinds: &[],
    builtin_methods: builtins::GO,
    prelude: &[],
    symbols_query: &[include_str!("queries/go/symbols.scm")],
    references_query: &[include_str!("queries/go/references.scm")],
};

static JAVASCRIPT: LanguageSpec = LanguageSpec {
    language: Language::JavaScript,
    extensions: &["js", "jsx", "mjs", "cjs"],
    separator: ".",
    module_path: ModulePath::FilePath,
    visibility: VisibilityRule::Export {
        export_node: "export_statement",
        member_containers: &["class_body", "interface_body", "object_type"],
    },
    doc_comments: DocComments::JsDoc,
    wrapper_kinds: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
    ],
    body_fields: &["body", "value"],
    branch_kinds: &[
        "if_statement",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "switch_case",
        "catch_clause",
        "ternary_expression",
        "&&",
        "||",
        "??",
    ],
    opaque_kinds: &["string", "regex"],
    token_kinds: &[],
    builtin_methods: builtins::JAVASCRIPT,
    prelude: &[],
    symbols_query: &[
        include_str!("queries/ecma/symbols.scm"),
        include_str!("queries/javascript/symbols.scm"),
    ],
    references_query: &[
        include_str!("queries/ecma/references.scm"),
        include_str!("queries/javascript/references.scm"),
    ],
};

static TYPESCRIPT: LanguageSpec = LanguageSpec {
    language: Language::TypeScript,
    extensions: &["ts", "mts", "cts"],
    wrapper_kinds: &[
        "export_statement",
        "lexical_declaration",
        "variable_declaration",
        "ambient_declaration",
    ],
    symbols_query: &[
        include_str!("queries/ecma/symbols.scm"),
        include_str!("queries/typescript/symbols.scm"),
    ],
    references_query: &[
        include_str!("queries/ecma/references.scm"),
        include_str!("queries/typescript/references.scm"),
    ],
    ..JAVASCRIPT
};

static TSX: LanguageSpec = LanguageSpec {
    language: Language::Tsx,
    extensions: &["tsx"],
    ..TYPESCRIPT
};

/// Every fixture file (`tests/fixtures`) in a language Doctown reads: its path, language and
/// text.
#[cfg(test)]
pub(crate) fn fixture_files() -> Vec<(std::path::PathBuf, Language, String)> {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let (mut stack, mut files) = (vec![fixtures], Vec::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(language) = path.to_str().and_then(Language::from_path) {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, language, text));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles() {
        for lang in Language::ALL {
            let q = lang.queries();
            assert!(q.query.pattern_count() > 10, "{lang:?}");
            assert!(
                !q.captures.contains(&Capture::Other)
                    || q.query.capture_names().iter().any(|n| n.starts_with('_')),
                "{lang:?}"
            );
        }
    }

    #[test]
    fn builtin_methods_and_preludes_are_in_byte_order_for_binary_search() {
        for lang in Language::ALL {
            let names = lang.spec().builtin_methods;
            assert!(!names.is_empty(), "{lang:?}");
            for list in [names, lang.spec().prelude] {
                for pair in list.windows(2) {
                    assert!(pair[0] < pair[1], "{lang:?}: {pair:?}");
                }
            }
        }
    }

    #[test]
    fn every_pattern_has_a_named_root() {
        for lang in Language::ALL {
            assert!(
                !lang.queries().query_everywhere,
                "{lang:?}: a pattern starts anywhere"
            );
        }
        assert_eq!(pattern_root("(a (b) @x)"), Some("a"));
        assert_eq!(pattern_root("(_) @any"), None);
        assert_eq!(pattern_root("[(a) (b)] @x"), None);
        assert_eq!(pattern_root("((a) @x (#eq? @x \"y\"))"), None);
    }

    #[test]
    fn single_node_patterns_are_answered_by_the_walk() {
        assert_eq!(
            single_node_pattern("(line_comment) @comment"),
            Some(("line_comment", "comment"))
        );
        assert_eq!(
            single_node_pattern("(attribute_item) @attribute\n; Raw references: …\n"),
            Some(("attribute_item", "attribute"))
        );
        assert_eq!(single_node_pattern("(a (b)) @x"), None);
        assert_eq!(single_node_pattern("(a) @x (#eq? @x \"y\")"), None);
        assert_eq!(single_node_pattern("(_) @x"), None);
        let rust = Language::Rust.queries();
        let grammar = Language::Rust.grammar();
        let id = usize::from(grammar.id_for_node_kind("type_identifier", true));
        assert_eq!(
            rust.kinds[id].single,
            Some(Capture::Reference(ReferenceKind::Type))
        );
        let call = usize::from(grammar.id_for_node_kind("call_expression", true));
        assert!(rust.kinds[call].single.is_none() && !rust.kinds[call].patterns.is_empty());
    }

    /// The walk finds every match that tree-sitter's query finds over the whole tree, on every
    /// fixture: the plain patterns matched at nodes of their root kinds, the others by the query
    /// cursor started there. Single-node patterns are answered by kind (tested above). A `?`
    /// step also gives tree-sitter a match without the optional node; definitions merge their
    /// matches by node, so only the fullest match of each counts.
    #[test]
    fn the_walk_finds_every_match_of_the_query() {
        use std::collections::BTreeSet;
        use streaming_iterator::StreamingIterator;

        type Match = (usize, Vec<(usize, usize, u32)>);
        fn fullest(matches: BTreeSet<Match>) -> BTreeSet<Match> {
            let subsumed = |(p, c): &Match| {
                matches
                    .iter()
                    .any(|(q, d)| p == q && d.len() > c.len() && c.iter().all(|x| d.contains(x)))
            };
            matches.iter().filter(|m| !subsumed(m)).cloned().collect()
        }
        let capture =
            |(index, node): (u32, tree_sitter::Node)| (node.start_byte(), node.end_byte(), index);

        let files = fixture_files();
        assert!(files.len() > 20);
        for (path, language, text) in files {
            let queries = language.queries();
            let grammar = language.grammar();
            let source = language.spec().query_source();
            let mut query = Query::new(&grammar, &source).unwrap();
            for p in 0..query.pattern_count() {
                let pattern =
                    &source[query.start_byte_for_pattern(p)..query.end_byte_for_pattern(p)];
                if single_node_pattern(pattern).is_some() {
                    query.disable_pattern(p);
                }
            }
            let tree = crate::extract::Extractor::new()
                .parse(language, &text)
                .unwrap();
            let mut cursor = tree_sitter::QueryCursor::new();
            let mut expected = BTreeSet::new();
            let mut matches = cursor.matches(&query, tree.root_node(), text.as_bytes());
            while let Some(m) = matches.next() {
                let captures = m.captures().iter().map(|c| capture((c.index, c.node)));
                expected.insert((m.pattern_index, captures.collect()));
            }

            let mut found = BTreeSet::new();
            cursor.set_max_start_depth(Some(0));
            let (mut walk, mut kid_cursor, mut kids) = (tree.walk(), tree.walk(), Vec::new());
            let mut scratch = Scratch::new(tree.walk());
            'walk: loop {
                let node = walk.node();
                let role = queries.kinds.get(usize::from(node.kind_id()));
                let role = role.cloned().unwrap_or_default();
                kids.clear();
                children_of(node, &mut kid_cursor, &mut kids);
                for &p in &role.patterns {
                    let (index, pattern) = &queries.patterns[p];
                    pattern.matches(
                        node,
                        &kids,
                        text.as_bytes(),
                        &mut scratch,
                        &mut |captures| {
                            let captures = captures.iter().map(|&c| capture(c));
                            found.insert((*index, captures.collect()));
                        },
                    );
                }
                if role.query {
                    let mut matches = cursor.matches(&queries.query, node, text.as_bytes());
                    while let Some(m) = matches.next() {
                        let captures = m.captures().iter().map(|c| capture((c.index, c.node)));
                        found.insert((m.pattern_index, captures.collect()));
                    }
                }
                if walk.goto_first_child() {
                    continue;
                }
                while !walk.goto_next_sibling() {
                    if !walk.goto_parent() {
                        break 'walk;
                    }
                }
            }
            assert!(!expected.is_empty(), "{path:?}");
            assert_eq!(fullest(found), fullest(expected), "{path:?}");
        }
    }

    /// No named node inside an opaque kind or a token kind is one the walk looks at, by the
    /// grammar's node types (children, fields and supertypes, transitively).
    #[test]
    fn opaque_and_token_kinds_hold_nothing_the_walk_needs() {
        use std::collections::{BTreeMap, BTreeSet};

        for lang in Language::ALL {
            let node_types = match lang {
                Language::Rust => tree_sitter_rust::NODE_TYPES,
                Language::Python => tree_sitter_python::NODE_TYPES,
                Language::Go => tree_sitter_go::NODE_TYPES,
                Language::JavaScript => tree_sitter_javascript::NODE_TYPES,
                Language::TypeScript => tree_sitter_typescript::TYPESCRIPT_NODE_TYPES,
                Language::Tsx => tree_sitter_typescript::TSX_NODE_TYPES,
            };
            let types: Vec<serde_json::Value> = serde_json::from_str(node_types).unwrap();
            fn names(list: &serde_json::Value) -> Vec<&str> {
                let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
                list.iter().filter_map(|t| t["type"].as_str()).collect()
            }
            let mut inside: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for t in &types {
                let mut kids = names(&t["subtypes"]);
                kids.extend(names(&t["children"]["types"]));
                if let Some(fields) = t["fields"].as_object() {
                    fields
                        .values()
                        .for_each(|f| kids.extend(names(&f["types"])));
                }
                inside
                    .entry(t["type"].as_str().unwrap())
                    .or_default()
                    .extend(kids);
            }
            let queries = lang.queries();
            let grammar = lang.grammar();
            let looked_at = |kind: &str| {
                (0..grammar.node_kind_count() as u16)
                    .filter(|&id| grammar.node_kind_for_id(id) == Some(kind))
                    .any(|id| {
                        let role = &queries.kinds[usize::from(id)];
                        role.query
                            || role.branch
                            || role.single.is_some()
                            || !role.patterns.is_empty()
                    })
            };
            let spec = lang.spec();
            for &opaque in spec.opaque_kinds.iter().chain(spec.token_kinds) {
                assert!(inside.contains_key(opaque), "{lang:?}: no kind {opaque}");
                let mut seen = BTreeSet::new();
                let mut stack = vec![opaque];
                while let Some(kind) = stack.pop() {
                    for &kid in inside.get(kind).into_iter().flatten() {
                        assert!(!looked_at(kid), "{lang:?}: {opaque} holds {kid}");
                        if seen.insert(kid) {
                            stack.push(kid);
                        }
                    }
                }
            }
            let opaque = queries.kinds.iter().filter(|k| k.opaque).count();
            assert!(opaque >= spec.opaque_kinds.len(), "{lang:?}");
            let tokens = queries.kinds.iter().filter(|k| k.tokens).count();
            assert!(tokens >= spec.token_kinds.len(), "{lang:?}");
            // What a token kind may hold that the walk counts, it finds in the text.
            if !spec.token_kinds.is_empty() {
                assert!(!queries.anonymous_roles.is_empty(), "{lang:?}");
            }
        }
    }

    #[test]
    fn every_branch_kind_exists_in_its_grammar() {
        for lang in Language::ALL {
            let kinds = &lang.queries().kinds;
            let found = kinds.iter().filter(|k| k.branch).count();
            assert_eq!(found, lang.spec().branch_kinds.len(), "{lang:?}");
        }
    }

    #[test]
    fn detects_languages_by_extension() {
        assert_eq!(Language::from_path("src/lib.rs"), Some(Language::Rust));
        assert_eq!(Language::from_path("a/b.tsx"), Some(Language::Tsx));
        assert_eq!(Language::from_path("a/b.d.ts"), Some(Language::TypeScript));
        assert_eq!(Language::from_path("Makefile"), None);
        assert_eq!(Language::from_path("README.md"), None);
    }
}
