//! The symbol graph's wire types, `similar_to` edges, and the metrics read off the graph:
//! PageRank, fan-in/out, lines of code, and per-module coupling.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde::{Deserialize, Serialize};

use crate::embed::dot;
use crate::lang::ModulePath;
use crate::symbols::Symbol;

use super::rank::{page_rank, Csr};
use super::AssemblySettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// File → symbol, type → method, module → child, module declaration → its file.
    Contains,
    Calls,
    Imports,
    ReferencesType,
    Implements,
    /// Near neighbours by embedding (cosine in `confidence`).
    SimilarTo,
}

impl EdgeKind {
    /// Edges along which one symbol depends on another: what PageRank, fan-in/out and
    /// coupling count.
    pub fn is_dependency(self) -> bool {
        matches!(
            self,
            EdgeKind::Calls | EdgeKind::Imports | EdgeKind::ReferencesType | EdgeKind::Implements
        )
    }
}

/// A directed edge between two node ids (symbols or external nodes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub source: String,
    pub target: String,
    pub kind: EdgeKind,
    /// 1 when scope, imports or qualified names prove the target; lower when it was matched by
    /// name among candidates; the cosine for `similar_to`. Three decimals.
    pub confidence: f64,
}

impl Eq for Edge {}

impl PartialOrd for Edge {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By source, kind and target, then the highest confidence first (what dedup keeps).
impl Ord for Edge {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.source, self.kind, &self.target)
            .cmp(&(&other.source, other.kind, &other.target))
            .then_with(|| other.confidence.total_cmp(&self.confidence))
    }
}

/// A target outside the repository (std, a dependency), named by its path as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalNode {
    pub id: String,
    pub name: String,
}

/// What the graph says about one symbol.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolMetrics {
    pub pagerank: f64,
    /// 1-based rank by PageRank among the repository's symbols.
    pub rank: usize,
    pub complexity: u32,
    /// Distinct symbols that depend on this one (by edges of confidence ≥ 0.5).
    pub fan_in: usize,
    /// Distinct nodes (symbols or external) this one depends on (confidence ≥ 0.5).
    pub fan_out: usize,
    pub lines: usize,
}

/// Coupling of one module: a file, or a Go package (a directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleMetrics {
    /// The file path, or the Go package's directory.
    pub module: String,
    /// The paths of the files it is made of.
    pub files: Vec<String>,
    /// Afferent coupling: modules that depend on this one.
    pub afferent: usize,
    /// Efferent coupling: modules this one depends on.
    pub efferent: usize,
    /// efferent / (afferent + efferent); 0 for a module nothing touches.
    pub instability: f64,
    pub depends_on: Vec<String>,
    pub used_by: Vec<String>,
}

/// `similar_to` edges: each clustered symbol's nearest neighbours within its cluster (found in
/// the reduced space, confirmed by the full-dimension cosine), so the cost is the sum of the
/// squared cluster sizes times the reduced dimensions, never n² × 384.
pub(super) fn similar_edges(
    symbols: &[Symbol],
    vectors: &[Option<Vec<f32>>],
    clustered: &[usize],
    reduced: &[Vec<f32>],
    assignment: &[Option<usize>],
    settings: &AssemblySettings,
) -> Vec<Edge> {
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (p, c) in assignment.iter().enumerate() {
        if let Some(c) = c {
            members.entry(*c).or_default().push(p);
        }
    }
    // Candidates per symbol from the reduced space, more than kept: the reduction reorders
    // near neighbours a little.
    let candidates = settings.similar_neighbours * 4;
    let mut edges = Vec::new();
    for group in members.values() {
        for &p in group {
            let mut near: Vec<(f32, usize)> = group
                .iter()
                .filter(|&&q| q != p)
                .map(|&q| (squared_distance(&reduced[p], &reduced[q]), q))
                .collect();
            let by_distance =
                |a: &(f32, usize), b: &(f32, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if near.len() > candidates {
                near.select_nth_unstable_by(candidates, by_distance);
                near.truncate(candidates);
            }
            let (Some(a), i) = (&vectors[clustered[p]], clustered[p]) else {
                continue;
            };
            // Symbol vectors are unit length: the cosine is the dot product.
            let mut scored: Vec<(f32, usize)> = near
                .iter()
                .filter_map(|&(_, q)| {
                    let j = clustered[q];
                    let b = vectors[j].as_ref()?;
                    Some((dot(a, b), j))
                })
                .filter(|(c, _)| *c >= settings.similar_min_cosine)
                .collect();
            scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            for (score, j) in scored.into_iter().take(settings.similar_neighbours) {
                edges.push(Edge {
                    source: symbols[i].id.clone(),
                    target: symbols[j].id.clone(),
                    kind: EdgeKind::SimilarTo,
                    confidence: round3(score),
                });
            }
        }
    }
    edges
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Three decimals: enough for a confidence, and stable in the docpack's text.
pub(super) fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

/// PageRank, fan-in/out and lines per symbol (in `symbols` order), and module coupling.
pub(super) fn metrics(
    symbols: &[Symbol],
    externals: &[super::ExternalNode],
    edges: &[Edge],
) -> (Vec<SymbolMetrics>, Vec<ModuleMetrics>) {
    // The graph: symbols first (by id), then external nodes (by id).
    let mut graph: DiGraph<&str, (EdgeKind, f64)> =
        DiGraph::with_capacity(symbols.len() + externals.len(), edges.len());
    let mut node_of: HashMap<&str, NodeIndex> = HashMap::new();
    for id in symbols
        .iter()
        .map(|s| s.id.as_str())
        .chain(externals.iter().map(|e| e.id.as_str()))
    {
        node_of.insert(id, graph.add_node(id));
    }
    for e in edges {
        if let (Some(&a), Some(&b)) = (
            node_of.get(e.source.as_str()),
            node_of.get(e.target.as_str()),
        ) {
            graph.add_edge(a, b, (e.kind, e.confidence));
        }
    }
    let csr = Csr::from_edges(
        graph.node_count(),
        graph
            .raw_edges()
            .iter()
            .filter(|e| e.weight.0.is_dependency())
            .map(|e| (e.source().index(), e.target().index(), e.weight.1)),
    );
    let ranks = page_rank(
        &csr,
        PAGERANK_DAMPING,
        PAGERANK_TOLERANCE,
        PAGERANK_MAX_ITERATIONS,
    );

    let mut order: Vec<usize> = (0..symbols.len()).collect();
    order.sort_by(|&a, &b| ranks[b].total_cmp(&ranks[a]).then(a.cmp(&b)));
    let mut rank_of = vec![0; symbols.len()];
    for (r, &i) in order.iter().enumerate() {
        rank_of[i] = r + 1;
    }
    let metrics = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let node = NodeIndex::new(i);
            let distinct = |dir| {
                graph
                    .edges_directed(node, dir)
                    .filter(|e| e.weight().0.is_dependency() && e.weight().1 >= FAN_MIN_CONFIDENCE)
                    .map(|e| match dir {
                        Direction::Incoming => petgraph::visit::EdgeRef::source(&e),
                        Direction::Outgoing => petgraph::visit::EdgeRef::target(&e),
                    })
                    .collect::<BTreeSet<_>>()
                    .len()
            };
            SymbolMetrics {
                pagerank: round_rank(ranks[i]),
                rank: rank_of[i],
                complexity: s.complexity,
                fan_in: distinct(Direction::Incoming),
                fan_out: distinct(Direction::Outgoing),
                lines: s.span.end_line.saturating_sub(s.span.start_line) + 1,
            }
        })
        .collect();
    (metrics, coupling(symbols, edges))
}

/// Fan-in and fan-out count the edges resolution is fairly sure of: a call matched by a
/// method name among three candidates (confidence 0.2) says little about who depends on whom.
/// PageRank weighs every edge by its confidence instead.
pub const FAN_MIN_CONFIDENCE: f64 = 0.5;

/// The PageRank of the seed's graph traps: a damping of 0.85 (the usual), iterated until the
/// ranks move less than 1e-10 in total, or 200 rounds (convergence is geometric in 0.85, so
/// 200 rounds is far past any tolerance that matters).
pub const PAGERANK_DAMPING: f64 = 0.85;
pub const PAGERANK_TOLERANCE: f64 = 1e-10;
pub const PAGERANK_MAX_ITERATIONS: usize = 200;

/// Nine significant digits: the docpack's text is the same wherever the last bits differ.
fn round_rank(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(8 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The module of a Go package at the repository's root: its directory as Go's tools name it.
pub const ROOT_PACKAGE: &str = ".";

/// A symbol's module: its file, or for Go its package directory ([`ROOT_PACKAGE`] at the root).
fn module_of(symbol: &Symbol) -> String {
    if symbol.language.spec().module_path == ModulePath::GoPackage {
        symbol
            .path
            .rsplit_once('/')
            .map_or(ROOT_PACKAGE.to_owned(), |(d, _)| d.to_owned())
    } else {
        symbol.path.clone()
    }
}

fn coupling(symbols: &[Symbol], edges: &[Edge]) -> Vec<ModuleMetrics> {
    let module_by_id: HashMap<&str, String> = symbols
        .iter()
        .map(|s| (s.id.as_str(), module_of(s)))
        .collect();
    /// Per module: its files, the modules it depends on, the modules that depend on it.
    type Links = (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>);
    let mut modules: BTreeMap<String, Links> = BTreeMap::new();
    for s in symbols.iter().filter(|s| s.parent.is_none()) {
        modules
            .entry(module_of(s))
            .or_default()
            .0
            .insert(s.path.clone());
    }
    for e in edges
        .iter()
        .filter(|e| e.kind.is_dependency() && e.confidence >= FAN_MIN_CONFIDENCE)
    {
        let (Some(a), Some(b)) = (
            module_by_id.get(e.source.as_str()),
            module_by_id.get(e.target.as_str()),
        ) else {
            continue;
        };
        if a != b {
            modules.entry(a.clone()).or_default().1.insert(b.clone());
            modules.entry(b.clone()).or_default().2.insert(a.clone());
        }
    }
    modules
        .into_iter()
        .map(|(module, (files, out, inc))| {
            let (ca, ce) = (inc.len(), out.len());
            ModuleMetrics {
                module,
                files: files.into_iter().collect(),
                afferent: ca,
                efferent: ce,
                instability: if ca + ce == 0 {
                    0.0
                } else {
                    (ce as f64 / (ca + ce) as f64 * 1000.0).round() / 1000.0
                },
                depends_on: out.into_iter().collect(),
                used_by: inc.into_iter().collect(),
            }
        })
        .collect()
}
