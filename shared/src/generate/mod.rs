//! Generation: each fact bundle, each module and the architecture put into words by a
//! [`Verbalizer`]. The deterministic [`TemplateVerbalizer`] needs no network and names only
//! what the facts name; the LLM verbalizer comes behind the same trait.

pub mod llm;
mod template;
pub mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use serde::{Deserialize, Serialize};

use futures::StreamExt;

use crate::assemble::{Assembly, EdgeKind, FactBundle, ModuleMetrics, FAN_MIN_CONFIDENCE};
use crate::events::{
    Clock, Emitter, EventSink, GenerationCompleted, GenerationStarted, Status, SymbolDocumented,
};
use crate::lang::Language;
use crate::symbols::SymbolKind;

pub use template::TemplateVerbalizer;

/// Symbols named per list in module and architecture facts.
pub const MAX_NAMED: usize = 5;
/// The docs of at most this many callees go into a caller's prompt: the most certain and
/// central first (the order of the facts' `calls`); more would mostly add tokens.
pub const MAX_CALLEE_DOCS: usize = 5;
/// Requests in flight at once: enough to hide an endpoint's latency, few enough not to be
/// rate-limited at once.
pub const CONCURRENCY: usize = 8;
/// Symbols of one level handed to a verbalizer together, which may document them in one
/// request: the instructions are then sent once for all of them. More per request would make
/// each reply longer, and a failed one costlier.
pub const SYMBOLS_PER_REQUEST: usize = 8;

/// A symbol to document, with the docs already written for what it calls.
#[derive(Debug, Clone)]
pub struct SymbolItem<'a> {
    pub facts: &'a FactBundle,
    pub callees: Vec<CalleeDoc>,
}

/// A callee's generated doc, given to its caller's verbalizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalleeDoc {
    pub name: String,
    pub doc: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{verbalizer} could not write the text: {message}")]
pub struct VerbalizeError {
    pub verbalizer: String,
    pub message: String,
}

/// What a module overview may say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleFacts {
    pub metrics: ModuleMetrics,
    pub language: Option<Language>,
    /// How many symbols of each kind it defines.
    pub kinds: BTreeMap<SymbolKind, usize>,
    /// Its most central symbols (qualified names), best first.
    pub central: Vec<String>,
}

/// What the architecture summary may say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureFacts {
    pub files: usize,
    pub symbols: usize,
    pub edges: usize,
    pub languages: Vec<Language>,
    /// The most central symbols (qualified names), best first.
    pub central: Vec<String>,
    /// Cluster labels with their sizes, largest first.
    pub clusters: Vec<(String, usize)>,
    /// Modules most depended upon, with their afferent coupling.
    pub foundations: Vec<(String, usize)>,
}

/// Puts facts into words. Futures need not be `Send`: the edge's fetch-based client fits.
pub trait Verbalizer {
    /// Recorded per text in the docpack (`template`, or the model's name).
    fn name(&self) -> &str;
    /// `callees`: the docs already written for what the symbol calls (leaves come first).
    fn symbol(
        &self,
        facts: &FactBundle,
        callees: &[CalleeDoc],
    ) -> impl Future<Output = Result<String, VerbalizeError>>;
    /// Several symbols of one level (none calls another), in order. By default each is
    /// written on its own, all at once; a verbalizer may put them in one request.
    fn symbols(
        &self,
        items: &[SymbolItem<'_>],
    ) -> impl Future<Output = Vec<Result<String, VerbalizeError>>> {
        futures::future::join_all(
            items
                .iter()
                .map(|item| self.symbol(item.facts, &item.callees)),
        )
    }
    fn module(&self, facts: &ModuleFacts) -> impl Future<Output = Result<String, VerbalizeError>>;
    fn architecture(
        &self,
        facts: &ArchitectureFacts,
    ) -> impl Future<Output = Result<String, VerbalizeError>>;
    /// Why the verbalizer stopped writing before the end (a spending cap), if it did: the
    /// texts after that point are the template's, and the docpack is `partial`.
    fn stopped(&self) -> Option<String> {
        None
    }
    /// What the run is expected to cost, in US dollars, where writing costs money.
    fn estimated_usd(&self) -> Option<f64> {
        None
    }
    /// What the run has cost so far, in US dollars, where writing costs money.
    fn spent_usd(&self) -> Option<f64> {
        None
    }
}

/// A generated text and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub text: String,
    pub verbalizer: String,
    /// Why the chosen verbalizer's text was refused (or could not be had), when the template
    /// wrote this one in its place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

impl Text {
    pub fn written(text: String, verbalizer: &str) -> Self {
        Text {
            text,
            verbalizer: verbalizer.to_owned(),
            rejected: None,
        }
    }

    fn fallback(text: String, error: VerbalizeError) -> Self {
        Text {
            text,
            verbalizer: TemplateVerbalizer.name().to_owned(),
            rejected: Some(error.message),
        }
    }
}

/// Everything generation wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Documentation {
    /// By symbol id.
    pub symbols: BTreeMap<String, Text>,
    /// By module (file path, or Go package directory).
    pub modules: BTreeMap<String, Text>,
    pub architecture: Option<Text>,
    /// Why generation stopped before the end, if it did (see [`Verbalizer::stopped`]).
    pub stopped: Option<String>,
}

/// Runs generation over an assembly, emitting `generation.*.v1`. A text the verbalizer fails
/// on is written by the template instead (and marked so); the stage is then `partial`.
pub async fn generate<V: Verbalizer, S: EventSink, C: Clock>(
    assembly: &Assembly,
    verbalizer: &V,
    emitter: &mut Emitter<S, C>,
) -> Documentation {
    emitter.emit(GenerationStarted {
        symbols: assembly.facts.len() as u64,
        verbalizer: verbalizer.name().to_owned(),
        estimated_cost_usd: verbalizer.estimated_usd(),
    });
    let fallback = TemplateVerbalizer;
    let mut fell_back = false;
    let mut docs = Documentation::default();
    // Leaves first, level by level, so a caller's prompt can carry its callees' docs; within a
    // level, groups of SYMBOLS_PER_REQUEST go to the verbalizer, up to CONCURRENCY groups at
    // once, and results are taken in order.
    for level in leaves_first(assembly) {
        let groups = level.chunks(SYMBOLS_PER_REQUEST).map(|group| {
            let items: Vec<SymbolItem> = group
                .iter()
                .map(|&i| {
                    let facts = &assembly.facts[i];
                    SymbolItem {
                        facts,
                        callees: callee_docs(facts, &docs.symbols),
                    }
                })
                .collect();
            async move {
                let results = verbalizer.symbols(&items).await;
                items.into_iter().map(|i| i.facts).zip(results)
            }
        });
        let results: Vec<_> = futures::stream::iter(groups)
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (facts, result) in results.into_iter().flatten() {
            let text = match result {
                Ok(text) => Text::written(text, verbalizer.name()),
                Err(error) => {
                    fell_back = true;
                    Text::fallback(fallback.symbol_text(facts), error)
                }
            };
            emitter.emit(SymbolDocumented {
                symbol_id: facts.id.clone(),
                doc: text.text.clone(),
                verbalizer: text.verbalizer.clone(),
            });
            docs.symbols.insert(facts.id.clone(), text);
        }
    }
    for facts in module_facts(assembly) {
        let text = match verbalizer.module(&facts).await {
            Ok(text) => Text::written(text, verbalizer.name()),
            Err(error) => {
                fell_back = true;
                Text::fallback(fallback.module_text(&facts), error)
            }
        };
        docs.modules.insert(facts.metrics.module.clone(), text);
    }
    let facts = architecture_facts(assembly);
    docs.architecture = Some(match verbalizer.architecture(&facts).await {
        Ok(text) => Text::written(text, verbalizer.name()),
        Err(error) => {
            fell_back = true;
            Text::fallback(fallback.architecture_text(&facts), error)
        }
    });
    docs.stopped = verbalizer.stopped();
    emitter.emit(GenerationCompleted {
        status: if fell_back {
            Status::Partial
        } else {
            Status::Ok
        },
        documented: docs.symbols.len() as u64,
        cost_usd: verbalizer.spent_usd(),
    });
    docs
}

/// The docs written so far for what `facts` calls (symbols of the repository only).
fn callee_docs(facts: &FactBundle, written: &BTreeMap<String, Text>) -> Vec<CalleeDoc> {
    facts
        .calls
        .iter()
        .filter(|c| !c.external)
        .filter_map(|c| {
            let text = written.get(&c.id)?;
            Some(CalleeDoc {
                name: c.name.clone(),
                doc: text.text.clone(),
            })
        })
        .take(MAX_CALLEE_DOCS)
        .collect()
}

/// Symbol indices in levels, callees before callers: level 0 calls nothing in the repository
/// (by edges of confidence ≥ 0.5), each later level only what earlier ones hold. The members of
/// a call cycle (a strongly connected component) share one level, after everything the cycle
/// calls; indices are sorted within a level, so the order is the same on every run.
pub fn leaves_first(assembly: &Assembly) -> Vec<Vec<usize>> {
    let n = assembly.symbols.len();
    let mut graph: petgraph::graph::DiGraph<(), ()> = petgraph::graph::DiGraph::new();
    let nodes: Vec<_> = (0..n).map(|_| graph.add_node(())).collect();
    for e in &assembly.edges {
        if e.kind != EdgeKind::Calls || e.confidence < FAN_MIN_CONFIDENCE {
            continue;
        }
        if let (Some(a), Some(b)) = (assembly.index_of(&e.source), assembly.index_of(&e.target)) {
            if a != b {
                graph.update_edge(nodes[a], nodes[b], ());
            }
        }
    }
    let components = petgraph::algo::tarjan_scc(&graph);
    let mut component_of = vec![0; n];
    for (c, members) in components.iter().enumerate() {
        for node in members {
            component_of[node.index()] = c;
        }
    }
    // Kahn's algorithm over the components: a component is ready once every component it
    // calls is done.
    let mut callees: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); components.len()];
    let mut callers: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); components.len()];
    for edge in graph.raw_edges() {
        let (a, b) = (
            component_of[edge.source().index()],
            component_of[edge.target().index()],
        );
        if a != b {
            callees[a].insert(b);
            callers[b].insert(a);
        }
    }
    let mut waiting: Vec<usize> = callees.iter().map(BTreeSet::len).collect();
    let mut ready: Vec<usize> = (0..components.len()).filter(|&c| waiting[c] == 0).collect();
    let mut levels = Vec::new();
    while !ready.is_empty() {
        let mut level: Vec<usize> = ready
            .iter()
            .flat_map(|&c| components[c].iter().map(|node| node.index()))
            .collect();
        level.sort_unstable();
        levels.push(level);
        let mut next = Vec::new();
        for &c in &ready {
            for &caller in &callers[c] {
                waiting[caller] -= 1;
                if waiting[caller] == 0 {
                    next.push(caller);
                }
            }
        }
        ready = next;
    }
    levels
}

/// Per module: its metrics, what it defines, and its most central symbols.
pub fn module_facts(assembly: &Assembly) -> Vec<ModuleFacts> {
    assembly
        .modules
        .iter()
        .map(|m| {
            let files: BTreeSet<&str> = m.files.iter().map(String::as_str).collect();
            let mut members: Vec<usize> = (0..assembly.symbols.len())
                .filter(|&i| {
                    let s = &assembly.symbols[i];
                    files.contains(s.path.as_str()) && s.parent.is_some()
                })
                .collect();
            let mut kinds = BTreeMap::new();
            for &i in &members {
                *kinds.entry(assembly.symbols[i].kind).or_default() += 1;
            }
            members.sort_by_key(|&i| assembly.metrics[i].rank);
            ModuleFacts {
                metrics: m.clone(),
                language: members.first().map(|&i| assembly.symbols[i].language),
                kinds,
                central: members
                    .iter()
                    .take(MAX_NAMED)
                    .map(|&i| assembly.symbols[i].qualified_name.clone())
                    .collect(),
            }
        })
        .collect()
}

pub fn architecture_facts(assembly: &Assembly) -> ArchitectureFacts {
    let mut order: Vec<usize> = (0..assembly.symbols.len())
        .filter(|&i| assembly.symbols[i].parent.is_some())
        .collect();
    order.sort_by_key(|&i| assembly.metrics[i].rank);
    let languages: BTreeSet<Language> = assembly.symbols.iter().map(|s| s.language).collect();
    let mut foundations: Vec<(String, usize)> = assembly
        .modules
        .iter()
        .filter(|m| m.afferent > 0)
        .map(|m| (m.module.clone(), m.afferent))
        .collect();
    foundations.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    foundations.truncate(MAX_NAMED);
    ArchitectureFacts {
        files: assembly
            .symbols
            .iter()
            .filter(|s| s.parent.is_none())
            .count(),
        symbols: assembly.symbols.len(),
        edges: assembly.edges.len(),
        languages: languages.into_iter().collect(),
        central: order
            .iter()
            .take(MAX_NAMED)
            .map(|&i| assembly.symbols[i].qualified_name.clone())
            .collect(),
        clusters: assembly
            .clusters
            .iter()
            .map(|c| (c.label.clone(), c.members.len()))
            .collect(),
        foundations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::Edge;
    use crate::lang::Language;
    use crate::symbols::{Span, Symbol, SymbolKind};

    fn assembly(calls: &[(usize, usize)], n: usize) -> Assembly {
        let symbol = |i: usize| Symbol {
            id: format!("s{i}"),
            kind: SymbolKind::Function,
            name: format!("f{i}"),
            qualified_name: format!("f{i}"),
            language: Language::Rust,
            path: "a.rs".into(),
            span: Span {
                start_byte: 0,
                end_byte: 1,
                start_line: 1,
                end_line: 1,
            },
            parent: None,
            signature: String::new(),
            doc: None,
            visibility: None,
            references: Vec::new(),
            complexity: 1,
        };
        Assembly {
            symbols: (0..n).map(symbol).collect(),
            edges: calls
                .iter()
                .map(|&(a, b)| Edge {
                    source: format!("s{a}"),
                    target: format!("s{b}"),
                    kind: EdgeKind::Calls,
                    confidence: 1.0,
                })
                .collect(),
            ..Assembly::default()
        }
    }

    #[test]
    fn callees_come_before_callers_and_cycles_share_a_level() {
        // 0 → 1 → 2; 3 ⇄ 4, 4 → 2; 5 → 3 (a caller of the cycle comes after it).
        let a = assembly(&[(0, 1), (1, 2), (3, 4), (4, 3), (4, 2), (5, 3)], 6);
        assert_eq!(leaves_first(&a), vec![vec![2], vec![1, 3, 4], vec![0, 5]]);
        let flat = assembly(&[], 3);
        assert_eq!(leaves_first(&flat), vec![vec![0, 1, 2]]);
    }
}
