//! Assembly, the pipeline's one sync point: everything ingest found and every vector, turned
//! into the symbol graph (resolved edges, external nodes), metrics (PageRank, complexity,
//! fan-in/out, module coupling), clusters with labels, and one fact bundle per symbol.
//!
//! Pure and deterministic: the inputs are sorted maps, every iteration runs in id order, and the
//! only randomness is seeded, so the same repository gives the same assembly on every host.

mod cluster;
mod facts;
mod graph;
mod rank;
mod resolve;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::embed::normalize;
use crate::events::{
    AssemblyCompleted, AssemblyStarted, Clock, ClusterCreated, Emitter, EventBody, EventSink,
    FileDetected, FileSkipped, GraphCompleted, PackageFound, Status,
};
use crate::source::SourceInfo;
use crate::symbols::Symbol;

pub use cluster::{cluster_vectors, min_cluster_size, reduce_dimensions, Cluster, ClusterMethod};
pub use facts::{Centrality, ClusterRef, FactBundle, NamedRef, MAX_FACT_LIST};
pub use graph::{
    Edge, EdgeKind, ExternalNode, ModuleMetrics, SymbolMetrics, FAN_MIN_CONFIDENCE, ROOT_PACKAGE,
};
pub use rank::{page_rank, Csr};
pub use resolve::resolve_edges;

/// What ingest produced, collected from its events in any order and kept sorted.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    pub source: Option<SourceInfo>,
    pub commit: Option<String>,
    pub status: Option<Status>,
    /// Detected files by path.
    pub files: BTreeMap<String, FileDetected>,
    /// Skipped paths with their reasons.
    pub skipped: BTreeMap<String, FileSkipped>,
    /// Package manifests by path.
    pub packages: BTreeMap<String, PackageFound>,
    /// Every symbol by id, with its doc and references (from the chunk of part 0).
    pub symbols: BTreeMap<String, Symbol>,
    /// Per symbol id, its chunk ids in part order.
    pub chunks: BTreeMap<String, Vec<String>>,
}

impl Corpus {
    /// What a job's `job.completed` lists as skipped: the files ingest skipped, and the files
    /// with a chunk that embedding gave up on (`given_up`, chunk ids), sorted.
    pub fn skipped_files<'a>(&self, given_up: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let given_up: std::collections::HashSet<&String> = given_up.into_iter().collect();
        let mut paths: std::collections::BTreeSet<String> = self.skipped.keys().cloned().collect();
        if !given_up.is_empty() {
            paths.extend(
                self.chunks
                    .iter()
                    .filter(|(_, chunks)| chunks.iter().any(|c| given_up.contains(c)))
                    .filter_map(|(symbol, _)| self.symbols.get(symbol))
                    .map(|s| s.path.clone()),
            );
        }
        paths.into_iter().collect()
    }

    /// Takes in one event; events of other stages are ignored.
    pub fn observe(&mut self, body: &EventBody) {
        match body {
            EventBody::IngestStarted(e) => {
                self.commit = e.source.commit.clone();
                self.source = Some(e.source.clone());
            }
            EventBody::FileDetected(e) => {
                self.files.insert(e.path.clone(), e.clone());
            }
            EventBody::FileSkipped(e) => {
                self.skipped.insert(e.path.clone(), e.clone());
            }
            EventBody::PackageFound(e) => {
                self.packages.insert(e.manifest.clone(), e.clone());
            }
            EventBody::ChunkCreated(e) => {
                let parts = self.chunks.entry(e.chunk.symbol_id.clone()).or_default();
                if parts.len() <= e.chunk.part {
                    parts.resize(e.chunk.part + 1, String::new());
                }
                parts[e.chunk.part] = e.chunk.id.clone();
                if e.chunk.part == 0 || !self.symbols.contains_key(&e.symbol.id) {
                    self.symbols.insert(e.symbol.id.clone(), e.symbol.clone());
                }
            }
            EventBody::IngestCompleted(e) => {
                self.status = Some(e.status);
                if e.commit.is_some() {
                    self.commit = e.commit.clone();
                }
            }
            _ => {}
        }
    }

    /// A symbol's vector: the mean of its chunks' vectors in part order, unit length; `None`
    /// when any of its chunks has none (a batch was skipped).
    pub fn symbol_vector(
        &self,
        symbol_id: &str,
        vectors: &BTreeMap<String, Vec<f32>>,
    ) -> Option<Vec<f32>> {
        let parts = self.chunks.get(symbol_id)?;
        let mut sum: Option<Vec<f32>> = None;
        for chunk in parts {
            let v = vectors.get(chunk)?;
            match &mut sum {
                Some(s) if s.len() == v.len() => s.iter_mut().zip(v).for_each(|(a, b)| *a += b),
                Some(_) => return None,
                None => sum = Some(v.clone()),
            }
        }
        let mut mean = sum?;
        normalize(&mut mean);
        Some(mean)
    }
}

/// The knobs of assembly, recorded in the docpack manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssemblySettings {
    /// Dimensions kept by PCA before clustering: HDBSCAN's cost grows with them, and a handful
    /// of principal components carry the topic structure of code embeddings.
    pub reduced_dimensions: usize,
    /// Each symbol's nearest neighbours kept as `similar_to` edges.
    pub similar_neighbours: usize,
    /// The cosine a neighbour needs to be `similar_to`: below it, MiniLM vectors of code are
    /// related by language and style rather than by purpose.
    pub similar_min_cosine: f32,
    /// Seed for PCA's start and k-means' centres.
    pub seed: u64,
}

impl Default for AssemblySettings {
    fn default() -> Self {
        AssemblySettings {
            reduced_dimensions: 8,
            similar_neighbours: 3,
            similar_min_cosine: 0.8,
            seed: 0x646f_6374_6f77_6e00,
        }
    }
}

/// The assembled repository: what generation verbalizes and the docpack stores.
#[derive(Debug, Clone, Default)]
pub struct Assembly {
    /// Symbols sorted by id.
    pub symbols: Vec<Symbol>,
    /// Per symbol (same order): its metrics.
    pub metrics: Vec<SymbolMetrics>,
    pub clusters: Vec<Cluster>,
    pub cluster_method: Option<ClusterMethod>,
    /// Per symbol (same order): the index of its cluster in `clusters`.
    pub cluster_of: Vec<Option<usize>>,
    /// Per symbol (same order): its unit vector, when all its chunks got one.
    pub vectors: Vec<Option<Vec<f32>>>,
    pub externals: Vec<ExternalNode>,
    /// Sorted by (source, kind, target).
    pub edges: Vec<Edge>,
    pub modules: Vec<ModuleMetrics>,
    /// Per symbol (same order).
    pub facts: Vec<FactBundle>,
}

impl Assembly {
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.symbols
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
    }
}

/// Runs assembly, emitting `assembly.*.v1`: `started`, one `cluster_created` per cluster,
/// `graph_completed`, `completed`.
pub fn assemble<S: EventSink, C: Clock>(
    corpus: &Corpus,
    vectors: &BTreeMap<String, Vec<f32>>,
    settings: &AssemblySettings,
    emitter: &mut Emitter<S, C>,
) -> Assembly {
    let symbols: Vec<Symbol> = corpus.symbols.values().cloned().collect();
    let symbol_vectors: Vec<Option<Vec<f32>>> = symbols
        .iter()
        .map(|s| corpus.symbol_vector(&s.id, vectors))
        .collect();
    emitter.emit(AssemblyStarted {
        symbols: symbols.len() as u64,
        vectors: symbol_vectors.iter().flatten().count() as u64,
    });

    let packages: Vec<PackageFound> = corpus.packages.values().cloned().collect();
    let (mut edges, externals) = resolve_edges(&symbols, &packages);
    // Clusters over the symbols that have a vector; files and modules are containers whose
    // text is a remainder, not a topic.
    let clustered: Vec<usize> = (0..symbols.len())
        .filter(|&i| symbol_vectors[i].is_some() && symbols[i].parent.is_some())
        .collect();
    let points: Vec<&[f32]> = clustered
        .iter()
        .filter_map(|&i| symbol_vectors[i].as_deref())
        .collect();
    let reduced = reduce_dimensions(&points, settings.reduced_dimensions, settings.seed);
    let (method, assignment) = cluster_vectors(&reduced, settings.seed);
    let mut cluster_of = vec![None; symbols.len()];
    let clusters = cluster::build_clusters(&symbols, &clustered, &assignment, &mut cluster_of);
    edges.extend(graph::similar_edges(
        &symbols,
        &symbol_vectors,
        &clustered,
        &reduced,
        &assignment,
        settings,
    ));
    edges.sort();
    edges.dedup_by(|a, b| (&a.source, a.kind, &a.target) == (&b.source, b.kind, &b.target));

    for c in &clusters {
        emitter.emit(ClusterCreated {
            cluster_id: c.id.clone(),
            label: c.label.clone(),
            members: c.members.clone(),
            top_terms: c.top_terms.clone(),
        });
    }
    let (metrics, modules) = graph::metrics(&symbols, &externals, &edges);
    emitter.emit(GraphCompleted {
        nodes: (symbols.len() + externals.len()) as u64,
        edges: edges.len() as u64,
    });
    let mut assembly = Assembly {
        symbols,
        metrics,
        clusters,
        cluster_method: method,
        cluster_of,
        vectors: symbol_vectors,
        externals,
        edges,
        modules,
        facts: Vec::new(),
    };
    assembly.facts = facts::bundles(&assembly);
    let status = if assembly.vectors.iter().any(Option::is_none) {
        Status::Partial
    } else {
        Status::Ok
    };
    emitter.emit(AssemblyCompleted {
        status,
        nodes: (assembly.symbols.len() + assembly.externals.len()) as u64,
        edges: assembly.edges.len() as u64,
        clusters: assembly.clusters.len() as u64,
    });
    assembly
}
