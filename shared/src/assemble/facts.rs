//! The fact bundle of each symbol: everything the generator may say about it, computed, so the
//! verbalizer (template or LLM) only puts facts into words. Written to `symbol_contexts.json`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::lang::Language;
use crate::symbols::{SymbolKind, Visibility};

use super::graph::EdgeKind;
use super::Assembly;

/// Entries kept per list (calls, callers, …): the most certain and most central first. A
/// prompt needs the neighbourhood, not every one of 500 callers.
pub const MAX_FACT_LIST: usize = 12;

/// Another node, as a fact names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRef {
    pub id: String,
    /// The qualified name of a symbol, or the path of an external node.
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// Below 1 when the edge was matched by name among candidates.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub confidence: f64,
}

fn one() -> f64 {
    1.0
}

fn is_one(x: &f64) -> bool {
    *x == 1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centrality {
    pub pagerank: f64,
    /// 1-based rank by PageRank, out of `of` symbols.
    pub rank: usize,
    pub of: usize,
}

/// The seed's prompt fields (symbol, kind, file, signature, calls, called by, imports,
/// cluster, centrality) plus complexity, size and the existing doc comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactBundle {
    pub id: String,
    /// The qualified name.
    pub symbol: String,
    pub name: String,
    pub kind: SymbolKind,
    pub language: Language,
    pub file: String,
    pub start_line: usize,
    pub end_line: usize,
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NamedRef>,
    pub members: Vec<NamedRef>,
    pub calls: Vec<NamedRef>,
    pub called_by: Vec<NamedRef>,
    pub imports: Vec<NamedRef>,
    pub imported_by: Vec<NamedRef>,
    pub uses_types: Vec<NamedRef>,
    pub used_as_type_by: Vec<NamedRef>,
    pub implements: Vec<NamedRef>,
    pub implemented_by: Vec<NamedRef>,
    pub similar_to: Vec<NamedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterRef>,
    pub centrality: Centrality,
    pub complexity: u32,
    pub fan_in: usize,
    pub fan_out: usize,
    pub lines_of_code: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRef {
    pub id: String,
    pub label: String,
}

/// One bundle per symbol, in the assembly's symbol order.
pub(super) fn bundles(a: &Assembly) -> Vec<FactBundle> {
    let node_index: HashMap<&str, usize> = a
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let external_name: HashMap<&str, &str> = a
        .externals
        .iter()
        .map(|e| (e.id.as_str(), e.name.as_str()))
        .collect();
    let named = |id: &str, confidence: f64| -> NamedRef {
        match node_index.get(id) {
            Some(&i) => NamedRef {
                id: id.to_owned(),
                name: a.symbols[i].qualified_name.clone(),
                external: false,
                confidence,
            },
            None => NamedRef {
                id: id.to_owned(),
                name: external_name.get(id).copied().unwrap_or(id).to_owned(),
                external: true,
                confidence,
            },
        }
    };
    // Outgoing and incoming edges per symbol and kind.
    let mut outgoing: HashMap<(usize, EdgeKind), Vec<NamedRef>> = HashMap::new();
    let mut incoming: HashMap<(usize, EdgeKind), Vec<NamedRef>> = HashMap::new();
    for e in &a.edges {
        if let Some(&s) = node_index.get(e.source.as_str()) {
            outgoing
                .entry((s, e.kind))
                .or_default()
                .push(named(&e.target, e.confidence));
        }
        if let Some(&t) = node_index.get(e.target.as_str()) {
            incoming
                .entry((t, e.kind))
                .or_default()
                .push(named(&e.source, e.confidence));
        }
    }
    let rank_of = |r: &NamedRef| {
        node_index
            .get(r.id.as_str())
            .map_or(usize::MAX, |&i| a.metrics[i].rank)
    };
    let take = |map: &mut HashMap<(usize, EdgeKind), Vec<NamedRef>>, key| {
        let mut list = map.remove(&key).unwrap_or_default();
        list.sort_by(|x, y| {
            y.confidence
                .total_cmp(&x.confidence)
                .then(rank_of(x).cmp(&rank_of(y)))
                .then(x.name.cmp(&y.name))
        });
        list.truncate(MAX_FACT_LIST);
        list
    };
    let total = a.symbols.len();
    (0..total)
        .map(|i| {
            let s = &a.symbols[i];
            let m = &a.metrics[i];
            FactBundle {
                id: s.id.clone(),
                symbol: s.qualified_name.clone(),
                name: s.name.clone(),
                kind: s.kind,
                language: s.language,
                file: s.path.clone(),
                start_line: s.span.start_line,
                end_line: s.span.end_line,
                signature: s.signature.clone(),
                doc_comment: s.doc.clone(),
                visibility: s.visibility,
                parent: s.parent.as_deref().map(|p| named(p, 1.0)),
                members: take(&mut outgoing, (i, EdgeKind::Contains)),
                calls: take(&mut outgoing, (i, EdgeKind::Calls)),
                called_by: take(&mut incoming, (i, EdgeKind::Calls)),
                imports: take(&mut outgoing, (i, EdgeKind::Imports)),
                imported_by: take(&mut incoming, (i, EdgeKind::Imports)),
                uses_types: take(&mut outgoing, (i, EdgeKind::ReferencesType)),
                used_as_type_by: take(&mut incoming, (i, EdgeKind::ReferencesType)),
                implements: take(&mut outgoing, (i, EdgeKind::Implements)),
                implemented_by: take(&mut incoming, (i, EdgeKind::Implements)),
                similar_to: take(&mut outgoing, (i, EdgeKind::SimilarTo)),
                cluster: a.cluster_of[i].map(|c| ClusterRef {
                    id: a.clusters[c].id.clone(),
                    label: a.clusters[c].label.clone(),
                }),
                centrality: Centrality {
                    pagerank: m.pagerank,
                    rank: m.rank,
                    of: total,
                },
                complexity: m.complexity,
                fan_in: m.fan_in,
                fan_out: m.fan_out,
                lines_of_code: m.lines,
            }
        })
        .collect()
}
