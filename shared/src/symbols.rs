//! The ingest data model: symbols, their raw references, and chunks.
//!
//! These are wire types: they travel inside `ingest.chunk_created.v1` and later into the docpack.
//! Offsets are UTF-8 byte offsets into the file, end-exclusive; lines are 1-based and inclusive.

use serde::{Deserialize, Serialize};

use crate::lang::Language;

/// What a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    File,
    Module,
    Function,
    Method,
    Class,
    Struct,
    Enum,
    Trait,
    Interface,
    TypeAlias,
    Constant,
    Static,
    Macro,
    /// A named type that is neither a struct nor an interface, and not an alias: Go's
    /// `type Celsius float64` or `type HandlerFunc func(…)`, a new type with its own methods.
    Type,
}

impl SymbolKind {
    /// Every kind with its name: as serialised, as in `@definition.<kind>` captures, as hashed
    /// into symbol ids.
    const NAMES: [(SymbolKind, &'static str); 14] = [
        (Self::File, "file"),
        (Self::Module, "module"),
        (Self::Function, "function"),
        (Self::Method, "method"),
        (Self::Class, "class"),
        (Self::Struct, "struct"),
        (Self::Enum, "enum"),
        (Self::Trait, "trait"),
        (Self::Interface, "interface"),
        (Self::TypeAlias, "type_alias"),
        (Self::Constant, "constant"),
        (Self::Static, "static"),
        (Self::Macro, "macro"),
        (Self::Type, "type"),
    ];

    /// The kind's snake_case name (`type_alias`).
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("file", |(_, name)| name)
    }

    /// Parses the suffix of a `@definition.<kind>` query capture (files are not captured).
    pub fn from_capture(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(kind, n)| *n == name && *kind != Self::File)
            .map(|(kind, _)| *kind)
    }

    /// Kinds whose nested functions are methods.
    pub fn owns_methods(self) -> bool {
        matches!(
            self,
            Self::Class | Self::Struct | Self::Enum | Self::Trait | Self::Interface
        )
    }
}

/// Visibility where the language has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    /// Visible within a crate or package, but not outside it (Rust `pub(crate)`, `pub(super)`).
    Restricted,
    Protected,
    Private,
}

impl Visibility {
    /// The name as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Restricted => "restricted",
            Self::Protected => "protected",
            Self::Private => "private",
        }
    }
}

/// A byte and line span in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start_byte: usize,
    pub end_byte: usize,
    pub start_line: usize,
    pub end_line: usize,
}

/// What a raw reference is; resolution into graph edges happens in assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// A call site; `target` is the callee name, `qualifier` its receiver or path if any.
    Call,
    /// An import or use; `target` is the imported path or name, `qualifier` the module it
    /// comes from when the syntax separates them (`from qualifier import target`).
    Import,
    /// A type named in a signature or body.
    Type,
    /// `impl Trait for T`, `class A extends B`, `implements I`: `target` is the trait, base or
    /// interface; `qualifier` the implementing type when it is not the enclosing symbol.
    Implements,
    /// A value bound to a name: a typed parameter, a local (`let`, `:=`, `const`, assignment) or
    /// a field (`self.x` where the syntax binds it through the object). `target` is the name,
    /// `qualifier` the type it is declared with, or the constructor or function whose result
    /// it holds: what tells the type of a receiver (`reg.Add(…)`). Not an edge by itself.
    Binding,
}

impl ReferenceKind {
    /// The name as serialised, and as in `@reference.<kind>` captures.
    pub fn name(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Import => "import",
            Self::Type => "type",
            Self::Implements => "implements",
            Self::Binding => "binding",
        }
    }

    /// Parses the suffix of a `@reference.<kind>` query capture.
    pub fn from_capture(name: &str) -> Option<Self> {
        [
            Self::Call,
            Self::Import,
            Self::Type,
            Self::Implements,
            Self::Binding,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
}

/// A reference found in a symbol's own text (not in nested symbols), as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RawReference {
    pub kind: ReferenceKind,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    /// The qualifier is a value the target is called on (`x.f()` where the syntax tells values
    /// from paths, as Rust's does), not a module or type path.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub receiver: bool,
    pub line: usize,
}

/// A symbol: a file, module, type, function, method, constant, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Symbol {
    /// Stable across runs and unrelated edits: derived from path, kind and qualified name.
    pub id: String,
    pub kind: SymbolKind,
    pub name: String,
    /// Language-native qualified name, e.g. `crate::session::Session::run`.
    pub qualified_name: String,
    pub language: Language,
    pub path: String,
    #[serde(flatten)]
    pub span: Span,
    /// The enclosing symbol (file, module, type or function), `None` for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The declaration without its body.
    pub signature: String,
    /// The existing doc comment or docstring, markers stripped, kept apart from the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Raw references in source order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<RawReference>,
    /// Cyclomatic complexity of the symbol's own code (nested symbols excluded): one plus its
    /// branches, loops, cases and short-circuit operators (`LanguageSpec::branch_kinds`).
    pub complexity: u32,
}

impl Symbol {
    /// The record without its doc and references: what a symbol's later chunks carry.
    pub fn without_details(&self) -> Symbol {
        Symbol {
            id: self.id.clone(),
            kind: self.kind,
            name: self.name.clone(),
            qualified_name: self.qualified_name.clone(),
            language: self.language,
            path: self.path.clone(),
            span: self.span,
            parent: self.parent.clone(),
            signature: self.signature.clone(),
            doc: None,
            visibility: self.visibility,
            references: Vec::new(),
            complexity: self.complexity,
        }
    }
}

/// A semantic chunk: the text the embedder sees for (a part of) one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Derived from the symbol id and the part number.
    pub id: String,
    pub symbol_id: String,
    pub path: String,
    pub language: Language,
    #[serde(flatten)]
    pub span: Span,
    /// 0-based part number; a symbol whose text exceeds the chunk budget has several parts.
    pub part: usize,
    pub parts: usize,
    /// Estimated model tokens (see [`crate::chunk::estimate_tokens`]).
    pub tokens: usize,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_serialised_ones() {
        for (kind, name) in SymbolKind::NAMES {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(kind.name(), name);
        }
        assert_eq!(
            SymbolKind::from_capture("type_alias"),
            Some(SymbolKind::TypeAlias)
        );
        assert_eq!(SymbolKind::from_capture("file"), None);
    }
}
