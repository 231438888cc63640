//! The type of the value a method is called on (`reg` in `reg.Add(…)`), from what the syntax
//! binds to its name ([`ReferenceKind::Binding`]): a declared type, a constructor, or a function
//! whose declared result is a type of the repository; then field by field (`s.cfg.store`).
//!
//! Bindings are flat per symbol (block scopes are not tracked), so a name bound in one symbol to
//! values of different or unknown types is not typed at all: the call falls back to matching
//! the method's name.

use std::collections::HashMap;

use crate::lang::Language;
use crate::symbols::{RawReference, ReferenceKind, Symbol};

use super::{is_path, is_type_kind, is_type_parameter, Index, Target, SUFFIX_CONFIDENCE};

/// The most segments of a receiver typed (`a.b.c.d`: a binding, then three fields). Longer
/// chains are rare, and each step is a lookup that may fail anyway.
const MAX_RECEIVER_SEGMENTS: usize = 4;

/// Types whose first type argument is what a binding of them holds in practice (`let s =
/// Store::open()?` is a `Store` when `open` returns `Result<Store>`; `x: Optional[Graph]`).
const WRAPPER_TYPES: [&str; 6] = ["Arc", "Box", "Option", "Optional", "Rc", "Result"];

/// The names of constructors, whose parameters often become the fields of the same name.
const CONSTRUCTORS: [&str; 2] = ["__init__", "constructor"];

/// Per symbol, its bindings by name.
pub(super) type Bindings<'a> = Vec<HashMap<&'a str, Vec<&'a RawReference>>>;

/// Each symbol's [`ReferenceKind::Binding`] references, by the name they bind.
pub(super) fn bindings(symbols: &[Symbol]) -> Bindings<'_> {
    symbols
        .iter()
        .map(|s| {
            let mut by_name: HashMap<&str, Vec<&RawReference>> = HashMap::new();
            for r in s
                .references
                .iter()
                .filter(|r| r.kind == ReferenceKind::Binding)
            {
                by_name.entry(r.target.as_str()).or_default().push(r);
            }
            by_name
        })
        .collect()
}

impl Index<'_> {
    /// The repository type of the value `path` as written in `from` (`reg`, `self.store`,
    /// `s.cfg.db`), where its bindings tell it.
    pub(super) fn receiver_type(&self, from: usize, path: &str) -> Option<usize> {
        if !is_path(path, ".") || path.split('.').count() > MAX_RECEIVER_SEGMENTS {
            return None;
        }
        let mut segments = path.split('.');
        let first = segments.next()?;
        let mut t = if self.is_self(from, first) {
            self.owner_type(from)?
        } else {
            self.local_type(from, first)?
        };
        for field in segments {
            t = self.field_type(t, field)?;
        }
        Some(t)
    }

    /// Whether `name` is bound in `from` or the functions around it (a local or a parameter):
    /// a value, whatever its type, and never a module or type of that name. Not by a binding
    /// from a call through the name itself (Go's `url, err := url.Parse(s)`): there the name
    /// is still the package where the call is written.
    pub(super) fn is_bound(&self, from: usize, name: &str) -> bool {
        let through_itself = |r: &&RawReference| {
            r.qualifier
                .as_deref()
                .and_then(|q| q.strip_prefix(name))
                .is_some_and(|rest| rest.starts_with('.'))
        };
        let mut scope = Some(from);
        while let Some(s) = scope {
            if is_type_kind(self.symbols[s].kind) || self.parent(s).is_none() {
                return false;
            }
            if let Some(bound) = self.bindings[s].get(name) {
                return !bound.iter().all(through_itself);
            }
            scope = self.parent(s);
        }
        false
    }

    /// The type of the name `name` bound in `from` or the functions and file around it (a
    /// type's fields are reached only through `self`), else of the variable symbol it names.
    fn local_type(&self, from: usize, name: &str) -> Option<usize> {
        let mut scope = Some(from);
        while let Some(s) = scope {
            if !is_type_kind(self.symbols[s].kind) {
                if let Some(bound) = self.bindings[s].get(name) {
                    return self.bound_type(s, bound);
                }
            }
            scope = self.parent(s);
        }
        // A variable that is a symbol of its own (Go's `var reg = registry.New()`).
        match self.lookup_name(from, name, false) {
            Target::Symbols(found, confidence) if found.len() == 1 && confidence == 1.0 => {
                let s = found[0];
                self.bound_type(s, self.bindings[s].get(name)?)
            }
            _ => None,
        }
    }

    /// The type of field `field` of type `t`: declared on the type, bound through the object
    /// in its methods (`self.store = Store()`, `this.queue = new Queue()`), else the type of
    /// the constructor's parameter of that name (TypeScript's `constructor(private store:
    /// Store)`, and the `self.store = store` idiom).
    fn field_type(&self, t: usize, field: &str) -> Option<usize> {
        if let Some(bound) = self.bindings[t].get(field) {
            return self.bound_type(t, bound);
        }
        let through_object = [format!("self.{field}"), format!("this.{field}")];
        let mut found = None;
        for &m in &self.children[t] {
            for key in &through_object {
                if let Some(bound) = self.bindings[m].get(key.as_str()) {
                    let ty = self.bound_type(m, bound)?;
                    if found.is_some_and(|f| f != ty) {
                        return None;
                    }
                    found = Some(ty);
                }
            }
        }
        if found.is_some() {
            return found;
        }
        let constructor = self.children[t]
            .iter()
            .find(|&&m| CONSTRUCTORS.contains(&self.symbols[m].name.as_str()))?;
        self.bound_type(*constructor, self.bindings[*constructor].get(field)?)
    }

    /// The one type all of `bound` (bindings of one name in symbol `at`) give, if they agree.
    fn bound_type(&self, at: usize, bound: &[&RawReference]) -> Option<usize> {
        let mut found = None;
        // A parameter without a declared type does not count against the type the body binds
        // it to (`G = nx.Graph(G)`).
        for written in bound.iter().filter_map(|r| r.qualifier.as_deref()) {
            let ty = self.binding_type(at, written)?;
            if found.is_some_and(|f| f != ty) {
                return None;
            }
            found = Some(ty);
        }
        found
    }

    /// The repository type a binding's qualifier (a type, a constructor or a function, as
    /// written in `at`) gives its value.
    fn binding_type(&self, at: usize, written: &str) -> Option<usize> {
        let language = self.symbols[at].language;
        let name = type_name(written, language)?;
        let Target::Symbols(found, confidence) = self.lookup_path(at, &name, false) else {
            return None;
        };
        if confidence < SUFFIX_CONFIDENCE {
            return None;
        }
        let mut types = found.into_iter().filter_map(|s| {
            if is_type_kind(self.symbols[s].kind) {
                Some(s)
            } else {
                self.result_type(s)
            }
        });
        let first = types.next()?;
        types.all(|t| t == first).then_some(first)
    }

    /// The repository type function `f` declares it returns.
    fn result_type(&self, f: usize) -> Option<usize> {
        let s = &self.symbols[f];
        let written = result_text(&s.signature, &s.name, s.language)?;
        let name = type_name(written, s.language)?;
        if name == "Self" {
            return self.owner_type(f);
        }
        match self.lookup_path(f, &name, true) {
            Target::Symbols(found, confidence)
                if found.len() == 1 && confidence >= SUFFIX_CONFIDENCE =>
            {
                Some(found[0])
            }
            _ => None,
        }
    }
}

/// The type or callee named by `written` (`*Registry`, `&mut Store<'a>`, `Optional["Graph"]`,
/// `Vec::<u8>::new`, `geometry.Rect`) as a path to look up, without references, pointers,
/// type arguments and the wrappers of [`WRAPPER_TYPES`]; `None` for what is not a named type
/// (`[]T`, `map[K]V`, `func(…)`, a type parameter).
fn type_name(written: &str, language: Language) -> Option<String> {
    let mut text = written.trim();
    loop {
        let before = text;
        for prefix in ["&", "*", "mut ", "dyn ", "impl ", "readonly "] {
            text = text.strip_prefix(prefix).unwrap_or(text).trim_start();
        }
        match language {
            // A lifetime: `&'a T`.
            Language::Rust => {
                if let Some(rest) = text.strip_prefix('\'') {
                    text = rest.split_once(' ').map_or("", |(_, t)| t).trim_start();
                }
            }
            // A forward reference: `"Graph"`.
            _ => text = text.trim_matches(|c| c == '"' || c == '\''),
        }
        if let Some(inner) = wrapped(text) {
            text = inner;
        }
        if text == before {
            break;
        }
    }
    if text.starts_with(['[', '(']) {
        // A slice, array or tuple: not the named type of its elements.
        return None;
    }
    let name = without_type_arguments(text);
    let end = name
        .find(|c: char| c.is_whitespace() || c == '|' || c == '(' || c == '{')
        .unwrap_or(name.len());
    if name[end..].starts_with('(') {
        // A function type: `func(int) error`, `fn(u8) -> u8`.
        return None;
    }
    let name = &name[..end];
    let sep = language.spec().separator;
    (is_path(name, sep) && !is_type_parameter(name)).then(|| name.to_owned())
}

/// `Result<Store, Error>` → `Store`: the first type argument of a [`WRAPPER_TYPES`] type.
fn wrapped(text: &str) -> Option<&str> {
    let open = text.find(['<', '['])?;
    let head = text[..open].rsplit("::").next()?;
    if !WRAPPER_TYPES.contains(&head) {
        return None;
    }
    let inner = &text[open + 1..];
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '[' | '(' => depth += 1,
            '>' | ']' | ')' if depth > 0 => depth -= 1,
            ',' | '>' | ']' if depth == 0 => return Some(inner[..i].trim()),
            _ => {}
        }
    }
    None
}

/// `Vec::<u8>::new` → `Vec::new`, `Stack[int]` → `Stack`: type arguments removed.
fn without_type_arguments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '<' | '[' => depth += 1,
            '>' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("::::", "::")
}

/// The result type as written in the signature of function `name`: after `->` (Rust, Python),
/// after `:` (TypeScript), or what follows the parameters (Go: the first of several results).
fn result_text<'s>(signature: &'s str, name: &str, language: Language) -> Option<&'s str> {
    let start = signature
        .match_indices(name)
        .map(|(i, _)| i + name.len())
        .find(|&end| signature[end..].starts_with(['(', '<', '[']))?;
    let mut rest = &signature[start..];
    for (open, close) in [('<', '>'), ('[', ']'), ('(', ')')] {
        if rest.starts_with(open) {
            rest = after_group(rest, open, close)?;
        }
    }
    let rest = rest.trim();
    let result = match language {
        Language::Rust => rest.strip_prefix("->")?.split(" where ").next()?,
        Language::Python => rest.strip_prefix("->")?.trim_end_matches(':'),
        Language::Go => match rest.strip_prefix('(') {
            // `(r *Registry, err error)` or `(*Registry, error)`: the first result's type.
            Some(results) => {
                let first = results.split([',', ')']).next()?.trim();
                first.split_once(' ').map_or(first, |(_, ty)| ty)
            }
            None => rest,
        },
        Language::JavaScript | Language::TypeScript | Language::Tsx => rest.strip_prefix(':')?,
    };
    let result = result.trim();
    (!result.is_empty()).then_some(result)
}

/// What follows the group that `text` opens with `open`, through its matching `close` (the `>`
/// of an arrow, `Fn() -> T`, closes nothing).
fn after_group(text: &str, open: char, close: char) -> Option<&str> {
    let mut depth = 0usize;
    let mut previous = ' ';
    for (i, c) in text.char_indices() {
        let arrow = c == '>' && previous == '-';
        previous = c;
        if c == open {
            depth += 1;
        } else if c == close && !arrow {
            depth -= 1;
            if depth == 0 {
                return Some(&text[i + c.len_utf8()..]);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_drop_references_arguments_and_wrappers() {
        let rust = |w| type_name(w, Language::Rust);
        assert_eq!(rust("&mut Store<'a>").as_deref(), Some("Store"));
        assert_eq!(rust("&'a dyn Backend").as_deref(), Some("Backend"));
        assert_eq!(rust("Result<Arc<Store>, Error>").as_deref(), Some("Store"));
        assert_eq!(rust("Vec::<u8>::new").as_deref(), Some("Vec::new"));
        assert_eq!(
            rust("crate::store::Store").as_deref(),
            Some("crate::store::Store")
        );
        assert_eq!(rust("T"), None);
        let go = |w| type_name(w, Language::Go);
        assert_eq!(go("*geometry.Rect").as_deref(), Some("geometry.Rect"));
        assert_eq!(go("Stack[int]").as_deref(), Some("Stack"));
        assert_eq!(go("[]Shape"), None);
        assert_eq!(go("func(int) error"), None);
        let python = |w| type_name(w, Language::Python);
        assert_eq!(python("Optional[\"Graph\"]").as_deref(), Some("Graph"));
        assert_eq!(python("nx.Graph").as_deref(), Some("nx.Graph"));
        let ts = |w| type_name(w, Language::TypeScript);
        assert_eq!(ts("TaskQueue | null").as_deref(), Some("TaskQueue"));
    }

    #[test]
    fn result_types_are_read_from_signatures() {
        let cases = [
            (
                Language::Rust,
                "pub fn open<P: AsRef<Path>>(path: P) -> io::Result<Self> where P: Send",
                "open",
                "io::Result<Self>",
            ),
            (Language::Go, "func New() *Registry", "New", "*Registry"),
            (
                Language::Go,
                "func (r *Registry) Get(name string) (s Shape, ok bool)",
                "Get",
                "Shape",
            ),
            (
                Language::Go,
                "func NewPolygon(sides int, r float64) (*Polygon, error)",
                "NewPolygon",
                "*Polygon",
            ),
            (
                Language::Python,
                "def make(n: int = 3) -> \"Graph\":",
                "make",
                "\"Graph\"",
            ),
            (
                Language::TypeScript,
                "function queue<T>(limit: number): TaskQueue<T>",
                "queue",
                "TaskQueue<T>",
            ),
        ];
        for (language, signature, name, expected) in cases {
            assert_eq!(
                result_text(signature, name, language),
                Some(expected),
                "{signature}"
            );
        }
        assert_eq!(result_text("func run()", "run", Language::Go), None);
        assert_eq!(result_text("def run(self):", "run", Language::Python), None);
    }
}
