//! The deterministic verbalizer: fixed sentence templates over the facts. No network, no
//! model; every name it writes comes from the facts, so it names only what exists.

use std::future::{ready, Future};

use crate::assemble::{FactBundle, NamedRef};
use crate::symbols::{SymbolKind, Visibility};

use super::{ArchitectureFacts, CalleeDoc, ModuleFacts, VerbalizeError, Verbalizer, MAX_NAMED};

/// Names listed in one sentence before "and N more".
const LISTED: usize = 3;

#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateVerbalizer;

impl Verbalizer for TemplateVerbalizer {
    fn name(&self) -> &str {
        "template"
    }

    fn symbol(
        &self,
        facts: &FactBundle,
        _callees: &[CalleeDoc],
    ) -> impl Future<Output = Result<String, VerbalizeError>> {
        ready(Ok(self.symbol_text(facts)))
    }

    fn module(&self, facts: &ModuleFacts) -> impl Future<Output = Result<String, VerbalizeError>> {
        ready(Ok(self.module_text(facts)))
    }

    fn architecture(
        &self,
        facts: &ArchitectureFacts,
    ) -> impl Future<Output = Result<String, VerbalizeError>> {
        ready(Ok(self.architecture_text(facts)))
    }
}

impl TemplateVerbalizer {
    /// One sentence of what the symbol is, one of how it connects.
    pub fn symbol_text(&self, f: &FactBundle) -> String {
        let kind = kind_words(f.kind);
        let visibility = match f.visibility {
            Some(Visibility::Public) => "public ",
            Some(Visibility::Restricted) => "crate-visible ",
            Some(Visibility::Protected) => "protected ",
            Some(Visibility::Private) => "private ",
            None => "",
        };
        let owner = f
            .parent
            .as_ref()
            .filter(|p| !p.external && p.name != f.file)
            .map(|p| format!(" of `{}`", short(&p.name)))
            .unwrap_or_default();
        let first = match f.kind {
            SymbolKind::File | SymbolKind::Module if f.parent.is_none() => {
                format!("`{}` is the {} `{}`.", f.name, kind, f.file)
            }
            _ => format!(
                "`{}` is a {visibility}{kind}{owner} in `{}` ({}, complexity {}).",
                f.name,
                f.file,
                count(f.lines_of_code, "line"),
                f.complexity
            ),
        };
        let second = match f.kind {
            SymbolKind::Function | SymbolKind::Method | SymbolKind::Macro => {
                let calls = phrase("calls", &f.calls);
                let callers = phrase("is called by", &f.called_by);
                match (calls, callers) {
                    (Some(a), Some(b)) => format!("It {a}, and {b}."),
                    (Some(a), None) => format!("It {a}; nothing in the repository calls it."),
                    (None, Some(b)) => format!("It {b}."),
                    (None, None) => {
                        "Nothing in the repository calls it, and it calls nothing.".into()
                    }
                }
            }
            SymbolKind::File | SymbolKind::Module if f.parent.is_none() => {
                let defines = phrase("defines", &f.members);
                let imports = phrase("imports", &f.imports);
                let parts: Vec<String> = defines.into_iter().chain(imports).collect();
                if parts.is_empty() {
                    "It defines nothing and imports nothing.".into()
                } else {
                    format!("It {}.", parts.join(", and "))
                }
            }
            _ => {
                let parts: Vec<String> = [
                    phrase("has members", &f.members),
                    phrase("implements", &f.implements),
                    phrase("is implemented by", &f.implemented_by),
                    phrase("is used by", &users(f)),
                ]
                .into_iter()
                .flatten()
                .collect();
                if parts.is_empty() {
                    "Nothing in the repository refers to it.".into()
                } else {
                    format!("It {}.", parts.join(", "))
                }
            }
        };
        format!("{first} {second}")
    }

    pub fn module_text(&self, f: &ModuleFacts) -> String {
        let kinds: Vec<String> = f
            .kinds
            .iter()
            .map(|(kind, n)| count(*n, &kind_words(*kind)))
            .collect();
        let mut text = if kinds.is_empty() {
            format!("`{}` defines no symbols of its own.", f.metrics.module)
        } else {
            let central = names(&f.central);
            format!(
                "`{}` defines {}; its most central symbols are {central}.",
                f.metrics.module,
                list(&kinds)
            )
        };
        let m = &f.metrics;
        text.push_str(&format!(
            " It depends on {}{} and is used by {}{} (instability {:.2}).",
            count(m.efferent, "module"),
            listed_paths(&m.depends_on),
            count(m.afferent, "module"),
            listed_paths(&m.used_by),
            m.instability
        ));
        text
    }

    pub fn architecture_text(&self, f: &ArchitectureFacts) -> String {
        let languages: Vec<String> = f.languages.iter().map(|l| l.name().to_owned()).collect();
        let mut text = format!(
            "The repository has {} in {} with {} and {}.",
            count(f.files, "file"),
            list(&languages),
            count(f.symbols, "symbol"),
            count(f.edges, "edge")
        );
        if !f.central.is_empty() {
            text.push_str(&format!(
                " Its most central symbols are {}.",
                names(&f.central)
            ));
        }
        if !f.clusters.is_empty() {
            let clusters: Vec<String> = f
                .clusters
                .iter()
                .take(MAX_NAMED)
                .map(|(label, n)| format!("{label} ({n})"))
                .collect();
            text.push_str(&format!(
                " Its code falls into {}: {}.",
                count(f.clusters.len(), "cluster"),
                list(&clusters)
            ));
        }
        if !f.foundations.is_empty() {
            let modules: Vec<String> = f
                .foundations
                .iter()
                .map(|(m, n)| format!("`{m}` ({})", count(*n, "dependent")))
                .collect();
            text.push_str(&format!(
                " The modules most depended upon are {}.",
                list(&modules)
            ));
        }
        text
    }
}

/// Symbols that use a type: as a type, by calling it (constructors), by importing it.
fn users(f: &FactBundle) -> Vec<NamedRef> {
    let mut all: Vec<NamedRef> = f
        .used_as_type_by
        .iter()
        .chain(&f.called_by)
        .chain(&f.imported_by)
        .cloned()
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all.dedup_by(|a, b| a.id == b.id);
    all
}

/// "calls `a`, `b` and `c` and 4 more", or `None` for an empty list. Uncertain targets (matched
/// by name) are marked "probably".
fn phrase(verb: &str, refs: &[NamedRef]) -> Option<String> {
    if refs.is_empty() {
        return None;
    }
    let shown: Vec<String> = refs
        .iter()
        .take(LISTED)
        .map(|r| {
            let name = format!("`{}`", short(&r.name));
            if r.confidence < 1.0 && !r.external {
                format!("{name} (probably)")
            } else {
                name
            }
        })
        .collect();
    let more = refs.len().saturating_sub(LISTED);
    let mut text = format!("{verb} {}", list(&shown));
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    Some(text)
}

fn names(qualified: &[String]) -> String {
    let shown: Vec<String> = qualified
        .iter()
        .take(LISTED)
        .map(|q| format!("`{}`", short(q)))
        .collect();
    list(&shown)
}

fn listed_paths(paths: &[String]) -> String {
    if paths.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = paths
        .iter()
        .take(LISTED)
        .map(|p| format!("`{p}`"))
        .collect();
    let more = paths.len().saturating_sub(LISTED);
    if more > 0 {
        format!(" ({} and {more} more)", list(&shown))
    } else {
        format!(" ({})", list(&shown))
    }
}

/// The last two segments of a qualified name (`Type::method`, `module.func`), after any path.
fn short(name: &str) -> &str {
    let name = name.rsplit('/').next().unwrap_or(name);
    let sep = if name.contains("::") { "::" } else { "." };
    match name.rmatch_indices(sep).nth(1) {
        Some((i, _)) => &name[i + sep.len()..],
        None => name,
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('s') || noun.ends_with("ch") {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

/// A kind as a phrase (`type alias`).
fn kind_words(kind: SymbolKind) -> String {
    kind.name().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_keep_owner_and_name() {
        assert_eq!(
            short("crate::store::cache::LruCache::insert"),
            "LruCache::insert"
        );
        assert_eq!(short("inventory.models.Item"), "models.Item");
        assert_eq!(short("src/util/format"), "format");
        assert_eq!(short("main"), "main");
    }

    #[test]
    fn lists_read_as_english() {
        assert_eq!(list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
        assert_eq!(count(2, "class"), "2 classes");
        assert_eq!(count(1, "method"), "1 method");
    }
}
