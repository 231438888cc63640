//! The `.docpack`: the artifact users keep. Its parts (spec: `docs/docpack.md`) are canonical
//! JSON (sorted keys, sorted arrays, no clocks or job ids) plus the vectors as f16; packed as a
//! tar with fixed metadata and compressed with zstd at a fixed level on one thread, so the same
//! inputs give the same bytes. The docpack id is the SHA-256 of the canonical manifest, which
//! holds the SHA-256 of every other part.

mod build;
mod canonical;
mod read;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assemble::{
    AssemblySettings, Cluster, ClusterMethod, Edge, ExternalNode, FactBundle, ModuleMetrics,
    SymbolMetrics,
};
use crate::events::Status;
use crate::generate::llm::{Estimate, Price, Usage};
use crate::generate::Text;
use crate::lang::Language;
use crate::policy::SkipReason;
use crate::source::SourceKind;
use crate::symbols::{SymbolKind, Visibility};

pub use build::{build, pack, BuildInput, Packed};
pub use canonical::canonical_json;
pub use read::{read, Docpack, DocpackError};

pub const FORMAT: &str = "doctown.docpack";
pub const FORMAT_VERSION: u32 = 2;

pub const MANIFEST: &str = "manifest.json";
pub const NODES: &str = "nodes.json";
pub const GRAPH: &str = "graph.json";
pub const CLUSTERS: &str = "clusters.json";
pub const MODULES: &str = "modules.json";
pub const EMBEDDINGS: &str = "embeddings.bin";
pub const SOURCE_MAP: &str = "source_map.json";
pub const SYMBOL_CONTEXTS: &str = "symbol_contexts.json";
/// Every part besides the manifest, in the order they are packed.
pub const PARTS: [&str; 7] = [
    CLUSTERS,
    EMBEDDINGS,
    GRAPH,
    MODULES,
    NODES,
    SOURCE_MAP,
    SYMBOL_CONTEXTS,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub repository: Repository,
    /// `partial` when files were dropped by a limit, vectors were skipped, or a spending cap
    /// stopped the language model.
    pub status: Status,
    pub tool: Tool,
    pub model: Model,
    pub verbalizer: String,
    pub settings: Settings,
    pub counts: Counts,
    pub skipped_files: Vec<SkippedFile>,
    /// Chunks whose vectors never came (their batch failed after every attempt).
    pub skipped_chunks: Vec<String>,
    /// Every other part: its SHA-256 and size.
    pub parts: BTreeMap<String, PartDigest>,
    /// What writing the texts with a language model cost, beside its estimate; absent for the
    /// template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<GenerationCost>,
}

/// The cost of a docpack's texts: the estimate (every text priced as if none were cached) and
/// what the kept texts cost to write (by the run that paid for each, so a rerun from the cache
/// records the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationCost {
    pub model: String,
    pub price: Price,
    pub estimate: Estimate,
    pub actual: Usage,
    pub actual_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    pub kind: SourceKind,
    /// The URL as given; for a local folder or archive only its name (its absolute path says
    /// where it sits on one machine, not what it is).
    pub location: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub id: String,
    pub dimensions: usize,
    /// How `embeddings.bin` stores each number: `f16` (IEEE half, little-endian).
    pub dtype: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub assembly: AssemblySettings,
    pub cluster_method: Option<ClusterMethod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub files: usize,
    pub skipped_files: usize,
    pub symbols: usize,
    pub external_nodes: usize,
    pub edges: usize,
    pub clusters: usize,
    pub embeddings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedFile {
    pub path: String,
    pub reason: SkipReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartDigest {
    pub sha256: String,
    pub bytes: u64,
}

/// One symbol of `nodes.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub kind: SymbolKind,
    pub name: String,
    pub qualified_name: String,
    pub language: Language,
    pub path: String,
    pub start_byte: usize,
    pub end_byte: usize,
    pub start_line: usize,
    pub end_line: usize,
    pub parent: Option<String>,
    pub signature: String,
    pub visibility: Option<Visibility>,
    /// The doc comment found in the source.
    pub doc_comment: Option<String>,
    /// The generated documentation and which verbalizer wrote it.
    pub doc: Text,
    pub metrics: SymbolMetrics,
    pub cluster: Option<String>,
    /// The row of this symbol's vector in `embeddings.bin`, when it has one.
    pub embedding: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graph {
    /// Sorted by (source, kind, target).
    pub edges: Vec<Edge>,
    /// Sorted by id.
    pub externals: Vec<ExternalNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clusters {
    pub method: Option<ClusterMethod>,
    /// Largest first, then by id.
    pub clusters: Vec<Cluster>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Modules {
    pub architecture: Text,
    /// Sorted by module.
    pub modules: Vec<ModuleEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleEntry {
    #[serde(flatten)]
    pub metrics: ModuleMetrics,
    pub overview: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceMap {
    pub files: BTreeMap<String, SourceFile>,
    pub nodes: BTreeMap<String, NodeSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    pub sha256: String,
    pub bytes: u64,
    pub language: Language,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSource {
    pub path: String,
    pub start_byte: usize,
    pub end_byte: usize,
}

/// `symbol_contexts.json`: the fact bundle of every symbol, by id.
pub type SymbolContexts = BTreeMap<String, FactBundle>;
