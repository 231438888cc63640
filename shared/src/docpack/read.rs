//! Reading and verifying a docpack: every checksum, every part's shape, and the references
//! between parts. An error names the part that is wrong.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use crate::hash::sha256_hex;

use super::{
    Clusters, Graph, Manifest, Modules, Node, SourceMap, SymbolContexts, CLUSTERS, EMBEDDINGS,
    FORMAT, FORMAT_VERSION, GRAPH, MANIFEST, MODULES, NODES, PARTS, SOURCE_MAP, SYMBOL_CONTEXTS,
};

/// The most a docpack may unpack to: 1 GiB holds the graph and vectors of repositories far past
/// the per-job source limits, and stops a decompression bomb long before memory runs out.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocpackError {
    #[error("not a docpack: {0} (a .docpack is a zstd-compressed tar; was the file cut short?)")]
    Container(String),
    #[error("the docpack unpacks to more than {MAX_UNPACKED_BYTES} bytes; refusing to read it")]
    TooLarge,
    #[error("{part} is missing from the docpack")]
    Missing { part: String },
    #[error("{part} is not a part of the docpack format (version {FORMAT_VERSION})")]
    Unexpected { part: String },
    #[error("{part} is corrupt: its SHA-256 is {actual}, the manifest says {expected} (or its size differs)")]
    Checksum {
        part: String,
        expected: String,
        actual: String,
    },
    #[error("{part} does not follow the docpack schema: {message}")]
    Schema { part: String, message: String },
}

/// A docpack read and verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Docpack {
    /// The SHA-256 of the canonical manifest.
    pub id: String,
    pub manifest: Manifest,
    pub nodes: Vec<Node>,
    pub graph: Graph,
    pub clusters: Clusters,
    pub modules: Modules,
    pub source_map: SourceMap,
    pub contexts: SymbolContexts,
    /// f16 little-endian, one row of `manifest.model.dimensions` per node with an `embedding`.
    pub embeddings: Vec<u8>,
}

impl Docpack {
    /// What each node is called, by id: a symbol's qualified name, an external node's path.
    pub fn names(&self) -> HashMap<&str, &str> {
        self.nodes
            .iter()
            .map(|n| (n.id.as_str(), n.qualified_name.as_str()))
            .chain(
                self.graph
                    .externals
                    .iter()
                    .map(|e| (e.id.as_str(), e.name.as_str())),
            )
            .collect()
    }

    /// The vector of row `row` of `embeddings.bin`, as f32.
    pub fn embedding(&self, row: usize) -> Option<Vec<f32>> {
        let d = self.manifest.model.dimensions;
        let bytes = self.embeddings.get(row * d * 2..(row + 1) * d * 2)?;
        Some(
            bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        )
    }
}

/// Reads the `.docpack` bytes and checks everything in them.
pub fn read(bytes: &[u8]) -> Result<Docpack, DocpackError> {
    let parts = unpack(bytes)?;
    let manifest_bytes = parts.get(MANIFEST).ok_or_else(|| DocpackError::Missing {
        part: MANIFEST.into(),
    })?;
    let manifest: Manifest = parse(MANIFEST, manifest_bytes)?;
    if manifest.format != FORMAT || manifest.format_version != FORMAT_VERSION {
        return Err(schema(
            MANIFEST,
            format!(
                "format {:?} version {}; this reader knows {FORMAT:?} version {FORMAT_VERSION}",
                manifest.format, manifest.format_version
            ),
        ));
    }
    if let Some((part, _)) = manifest
        .parts
        .iter()
        .find(|(_, d)| !is_sha256_hex(&d.sha256))
    {
        return Err(schema(
            MANIFEST,
            format!("the SHA-256 of {part} is not 64 lower-case hex digits"),
        ));
    }
    for part in PARTS {
        let digest = manifest
            .parts
            .get(part)
            .ok_or_else(|| schema(MANIFEST, format!("`parts` has no entry for {part}")))?;
        let bytes = parts
            .get(part)
            .ok_or_else(|| DocpackError::Missing { part: part.into() })?;
        let actual = sha256_hex(bytes);
        if actual != digest.sha256 || digest.bytes != bytes.len() as u64 {
            return Err(DocpackError::Checksum {
                part: part.into(),
                expected: digest.sha256.clone(),
                actual,
            });
        }
    }
    if let Some(extra) = manifest.parts.keys().find(|k| !PARTS.contains(&k.as_str())) {
        return Err(DocpackError::Unexpected {
            part: extra.clone(),
        });
    }
    let docpack = Docpack {
        id: sha256_hex(manifest_bytes),
        nodes: parse(NODES, &parts[NODES])?,
        graph: parse(GRAPH, &parts[GRAPH])?,
        clusters: parse(CLUSTERS, &parts[CLUSTERS])?,
        modules: parse(MODULES, &parts[MODULES])?,
        source_map: parse(SOURCE_MAP, &parts[SOURCE_MAP])?,
        contexts: parse(SYMBOL_CONTEXTS, &parts[SYMBOL_CONTEXTS])?,
        embeddings: parts[EMBEDDINGS].clone(),
        manifest,
    };
    check_references(&docpack)?;
    Ok(docpack)
}

fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, DocpackError> {
    let container = |e: std::io::Error| DocpackError::Container(e.to_string());
    let decoder = zstd::stream::read::Decoder::new(bytes).map_err(container)?;
    let mut tar_bytes = Vec::new();
    decoder
        .take(MAX_UNPACKED_BYTES + 1)
        .read_to_end(&mut tar_bytes)
        .map_err(container)?;
    if tar_bytes.len() as u64 > MAX_UNPACKED_BYTES {
        return Err(DocpackError::TooLarge);
    }
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let mut parts = BTreeMap::new();
    for entry in archive.entries().map_err(container)? {
        let mut entry = entry.map_err(container)?;
        let name = entry
            .path()
            .map_err(container)?
            .to_string_lossy()
            .into_owned();
        if name != MANIFEST && !PARTS.contains(&name.as_str()) {
            return Err(DocpackError::Unexpected { part: name });
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(schema(&name, "is not a regular file".into()));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(container)?;
        if parts.insert(name.clone(), data).is_some() {
            return Err(schema(&name, "appears twice".into()));
        }
    }
    Ok(parts)
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn parse<T: serde::de::DeserializeOwned>(part: &str, bytes: &[u8]) -> Result<T, DocpackError> {
    serde_json::from_slice(bytes).map_err(|e| schema(part, e.to_string()))
}

fn schema(part: &str, message: String) -> DocpackError {
    DocpackError::Schema {
        part: part.into(),
        message,
    }
}

/// Every id one part names exists where it should, and the vectors fit their rows.
fn check_references(d: &Docpack) -> Result<(), DocpackError> {
    let ids: HashSet<&str> = d.nodes.iter().map(|n| n.id.as_str()).collect();
    if ids.len() != d.nodes.len() {
        return Err(schema(NODES, "two nodes share an id".into()));
    }
    let all: HashSet<&str> = ids
        .iter()
        .copied()
        .chain(d.graph.externals.iter().map(|e| e.id.as_str()))
        .collect();
    if let Some(e) = d
        .graph
        .edges
        .iter()
        .find(|e| !ids.contains(e.source.as_str()) || !all.contains(e.target.as_str()))
    {
        return Err(schema(
            GRAPH,
            format!(
                "edge {} → {} names a node that does not exist",
                e.source, e.target
            ),
        ));
    }
    let clusters: HashSet<&str> = d.clusters.clusters.iter().map(|c| c.id.as_str()).collect();
    for c in &d.clusters.clusters {
        if let Some(m) = c.members.iter().find(|m| !ids.contains(m.as_str())) {
            return Err(schema(
                CLUSTERS,
                format!("cluster {} has unknown member {m}", c.id),
            ));
        }
    }
    if let Some(n) = d
        .nodes
        .iter()
        .find(|n| n.cluster.as_deref().is_some_and(|c| !clusters.contains(c)))
    {
        return Err(schema(
            NODES,
            format!("node {} is in an unknown cluster", n.id),
        ));
    }
    let rows = d.nodes.iter().filter(|n| n.embedding.is_some()).count();
    let expected = rows * d.manifest.model.dimensions * 2;
    if d.embeddings.len() != expected {
        return Err(schema(
            EMBEDDINGS,
            format!(
                "{} bytes for {rows} vectors of {} f16 values (expected {expected})",
                d.embeddings.len(),
                d.manifest.model.dimensions
            ),
        ));
    }
    if d.source_map.nodes.len() != ids.len()
        || !d.source_map.nodes.keys().all(|k| ids.contains(k.as_str()))
    {
        return Err(schema(
            SOURCE_MAP,
            "`nodes` does not cover every node exactly once".into(),
        ));
    }
    if d.contexts.len() != ids.len() || !d.contexts.keys().all(|k| ids.contains(k.as_str())) {
        return Err(schema(
            SYMBOL_CONTEXTS,
            "does not cover every node exactly once".into(),
        ));
    }
    let c = &d.manifest.counts;
    let actual = (
        d.nodes.len(),
        d.graph.edges.len(),
        d.graph.externals.len(),
        d.clusters.clusters.len(),
        rows,
    );
    if (
        c.symbols,
        c.edges,
        c.external_nodes,
        c.clusters,
        c.embeddings,
    ) != actual
    {
        return Err(schema(
            MANIFEST,
            format!("`counts` says {c:?}, the parts hold (symbols, edges, externals, clusters, vectors) {actual:?}"),
        ));
    }
    Ok(())
}
