//! Diagrams drawn from the graph as Mermaid: deterministic (sorted input, numbered node ids),
//! never written by a model.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use crate::docpack::Docpack;

/// Modules drawn in the dependency diagram: the most connected first. Past ~40 boxes a
/// diagram is a hairball nobody reads.
pub const MAX_MODULES: usize = 40;
/// Callers and callees drawn around a symbol, each side.
pub const MAX_NEIGHBOURS: usize = 8;

/// `"label"` for Mermaid: quotes and angle brackets as entities, so no label breaks the syntax
/// or reaches a renderer as markup.
fn label(text: &str) -> String {
    let escaped = text
        .replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;");
    format!("\"{escaped}\"")
}

/// Modules and what they depend on (`graph LR`), the [`MAX_MODULES`] most connected.
pub fn module_dependencies(d: &Docpack) -> String {
    let mut modules: Vec<_> = d.modules.modules.iter().collect();
    modules.sort_by(|a, b| {
        (b.metrics.afferent + b.metrics.efferent)
            .cmp(&(a.metrics.afferent + a.metrics.efferent))
            .then(a.metrics.module.cmp(&b.metrics.module))
    });
    modules.truncate(MAX_MODULES);
    let mut shown: Vec<&str> = modules.iter().map(|m| m.metrics.module.as_str()).collect();
    shown.sort_unstable();
    let id: BTreeMap<&str, usize> = shown.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut out = String::from("graph LR\n");
    for (i, m) in shown.iter().enumerate() {
        writeln!(out, "  m{i}[{}]", label(m)).unwrap();
    }
    for m in d.modules.modules.iter() {
        let Some(&a) = id.get(m.metrics.module.as_str()) else {
            continue;
        };
        for dep in &m.metrics.depends_on {
            if let Some(&b) = id.get(dep.as_str()) {
                writeln!(out, "  m{a} --> m{b}").unwrap();
            }
        }
    }
    out
}

/// A symbol's callers → the symbol → its callees (`graph LR`, at most [`MAX_NEIGHBOURS`] on
/// each side), or `None` when it has neither; `names` maps node ids (symbols and external
/// nodes) to what the diagram shows.
pub fn call_neighbourhood(
    names: &HashMap<&str, &str>,
    symbol: &str,
    callers: &[&str],
    callees: &[&str],
) -> Option<String> {
    let shown = |ids: &[&str]| -> BTreeSet<String> {
        ids.iter()
            .filter_map(|id| names.get(id).map(|n| (*n).to_owned()))
            .take(MAX_NEIGHBOURS)
            .collect()
    };
    let (callers, callees) = (shown(callers), shown(callees));
    if callees.is_empty() && callers.is_empty() {
        return None;
    }
    let mut out = String::from("graph LR\n");
    writeln!(out, "  s[{}]", label(names.get(symbol)?)).unwrap();
    for (i, c) in callers.iter().enumerate() {
        writeln!(out, "  r{i}[{}] --> s", label(c)).unwrap();
    }
    for (i, c) in callees.iter().enumerate() {
        writeln!(out, "  s --> c{i}[{}]", label(c)).unwrap();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out() {
        assert_eq!(label("a\"<b>&"), "\"a#quot;#lt;b#gt;#amp;\"");
    }
}
