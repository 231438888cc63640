//! Writing a docpack: the parts from the pipeline's results, then the tar and zstd around them.

use std::collections::BTreeMap;

use zstd::stream::raw::CParameter;

use crate::assemble::{Assembly, AssemblySettings, Corpus};
use crate::events::Status;
use crate::generate::{Documentation, TemplateVerbalizer, Text};
use crate::hash::sha256_hex;
use crate::source::{SourceInfo, SourceKind};

use super::{
    canonical_json, Clusters, Counts, GenerationCost, Graph, Manifest, Model, ModuleEntry, Modules,
    Node, NodeSource, PartDigest, Repository, Settings, SkippedFile, SourceFile, SourceMap, Tool,
    CLUSTERS, EMBEDDINGS, FORMAT, FORMAT_VERSION, GRAPH, MANIFEST, MODULES, NODES, SOURCE_MAP,
    SYMBOL_CONTEXTS,
};

/// zstd level 12: within a few percent of level 19's size on docpacks at a tenth of its time.
/// Output bytes depend on the level, the zstd version and the thread count (always one here),
/// so all three are fixed.
pub const ZSTD_LEVEL: i32 = 12;
/// zstd's window (log2 bytes): 1 MiB, and the match finder's tables sized to it. Level 12's own
/// for large inputs (an 8 MiB window, tables of 2^22 and 2^23 entries) take about 50 MB to
/// compress, where an edge isolate has 128 MB for everything: with them an 8 MB repository's
/// job peaked at 143 MiB of wasm memory, with these at 102 MiB. The cost: its 12.2 MB tar packs
/// to 3.71 MB instead of 3.46 MB (+7%; the vectors, which do not compress, are most of it).
/// Fixed, like the level: the bytes depend on both.
pub const ZSTD_WINDOW_LOG: u32 = 20;

/// Everything a docpack is made from.
#[derive(Debug)]
pub struct BuildInput<'a> {
    pub corpus: &'a Corpus,
    pub assembly: &'a Assembly,
    pub docs: &'a Documentation,
    pub settings: &'a AssemblySettings,
    pub model_id: &'a str,
    pub dimensions: usize,
    pub skipped_chunks: &'a [String],
    pub verbalizer: &'a str,
    pub tool_version: &'a str,
    /// What the texts cost, when a language model wrote them.
    pub generation: Option<GenerationCost>,
}

/// The canonical parts, by name (manifest included), and the docpack id.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    pub id: String,
    pub parts: BTreeMap<String, Vec<u8>>,
}

/// Builds every part. Fails only if a value cannot be serialised.
pub fn build(input: &BuildInput) -> Result<Packed, serde_json::Error> {
    let a = input.assembly;
    let mut parts: BTreeMap<String, Vec<u8>> = BTreeMap::new();

    let mut rows: Vec<u8> = Vec::new();
    let mut embedding_rows = 0;
    let nodes: Vec<Node> = a
        .symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let embedding = a.vectors[i].as_ref().map(|v| {
                for x in v {
                    rows.extend_from_slice(&half::f16::from_f32(*x).to_le_bytes());
                }
                embedding_rows += 1;
                embedding_rows - 1
            });
            let doc = input.docs.symbols.get(&s.id).cloned().unwrap_or_else(|| {
                Text::written(TemplateVerbalizer.symbol_text(&a.facts[i]), "template")
            });
            Node {
                id: s.id.clone(),
                kind: s.kind,
                name: s.name.clone(),
                qualified_name: s.qualified_name.clone(),
                language: s.language,
                path: s.path.clone(),
                start_byte: s.span.start_byte,
                end_byte: s.span.end_byte,
                start_line: s.span.start_line,
                end_line: s.span.end_line,
                parent: s.parent.clone(),
                signature: s.signature.clone(),
                visibility: s.visibility,
                doc_comment: s.doc.clone(),
                doc,
                metrics: a.metrics[i].clone(),
                cluster: a.cluster_of[i].map(|c| a.clusters[c].id.clone()),
                embedding,
            }
        })
        .collect();
    parts.insert(NODES.into(), canonical_json(&nodes)?);
    parts.insert(EMBEDDINGS.into(), rows);
    parts.insert(
        GRAPH.into(),
        canonical_json(&Graph {
            edges: a.edges.clone(),
            externals: a.externals.clone(),
        })?,
    );
    parts.insert(
        CLUSTERS.into(),
        canonical_json(&Clusters {
            method: a.cluster_method,
            clusters: a.clusters.clone(),
        })?,
    );
    let modules = Modules {
        architecture: input
            .docs
            .architecture
            .clone()
            .unwrap_or_else(|| Text::written(String::new(), "template")),
        modules: a
            .modules
            .iter()
            .map(|m| ModuleEntry {
                metrics: m.clone(),
                overview: input
                    .docs
                    .modules
                    .get(&m.module)
                    .cloned()
                    .unwrap_or(Text::written(String::new(), "template")),
            })
            .collect(),
    };
    parts.insert(MODULES.into(), canonical_json(&modules)?);
    let source_map = SourceMap {
        files: input
            .corpus
            .files
            .values()
            .map(|f| {
                let file = SourceFile {
                    sha256: f.sha256.clone(),
                    bytes: f.bytes,
                    language: f.language,
                };
                (f.path.clone(), file)
            })
            .collect(),
        nodes: a
            .symbols
            .iter()
            .map(|s| {
                let source = NodeSource {
                    path: s.path.clone(),
                    start_byte: s.span.start_byte,
                    end_byte: s.span.end_byte,
                };
                (s.id.clone(), source)
            })
            .collect(),
    };
    parts.insert(SOURCE_MAP.into(), canonical_json(&source_map)?);
    let contexts: BTreeMap<&str, _> = a.facts.iter().map(|f| (f.id.as_str(), f)).collect();
    parts.insert(SYMBOL_CONTEXTS.into(), canonical_json(&contexts)?);

    let partial = input.corpus.status == Some(Status::Partial)
        || !input.skipped_chunks.is_empty()
        || input.docs.stopped.is_some();
    let mut skipped_chunks = input.skipped_chunks.to_vec();
    skipped_chunks.sort();
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        repository: repository(input.corpus),
        status: if partial { Status::Partial } else { Status::Ok },
        tool: Tool {
            name: "doctown".into(),
            version: input.tool_version.into(),
        },
        model: Model {
            id: input.model_id.into(),
            dimensions: input.dimensions,
            dtype: "f16".into(),
        },
        verbalizer: input.verbalizer.into(),
        settings: Settings {
            assembly: input.settings.clone(),
            cluster_method: a.cluster_method,
        },
        counts: Counts {
            files: input.corpus.files.len(),
            skipped_files: input.corpus.skipped.len(),
            symbols: a.symbols.len(),
            external_nodes: a.externals.len(),
            edges: a.edges.len(),
            clusters: a.clusters.len(),
            embeddings: embedding_rows,
        },
        skipped_files: input
            .corpus
            .skipped
            .values()
            .map(|s| SkippedFile {
                path: s.path.clone(),
                reason: s.reason,
            })
            .collect(),
        skipped_chunks,
        parts: parts
            .iter()
            .map(|(name, bytes)| {
                let digest = PartDigest {
                    sha256: sha256_hex(bytes),
                    bytes: bytes.len() as u64,
                };
                (name.clone(), digest)
            })
            .collect(),
        generation: input.generation.clone(),
    };
    let manifest = canonical_json(&manifest)?;
    let id = sha256_hex(&manifest);
    parts.insert(MANIFEST.into(), manifest);
    Ok(Packed { id, parts })
}

fn repository(corpus: &Corpus) -> Repository {
    let source = corpus.source.clone().unwrap_or(SourceInfo {
        kind: SourceKind::Directory,
        location: String::new(),
        git_ref: None,
        commit: None,
    });
    let local = matches!(source.kind, SourceKind::Directory | SourceKind::Archive)
        || (source.kind == SourceKind::Git && !source.location.contains("://"));
    let location = if local {
        let trimmed = source.location.trim_end_matches(['/', '\\']);
        trimmed
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(trimmed)
            .to_owned()
    } else {
        source.location
    };
    Repository {
        kind: source.kind,
        location,
        git_ref: source.git_ref,
        commit: corpus.commit.clone(),
    }
}

/// The `.docpack` bytes: a tar of the parts (manifest first, then by name; mode 0644, owner 0,
/// time 0), compressed with zstd at [`ZSTD_LEVEL`] with a [`ZSTD_WINDOW_LOG`] window.
pub fn pack(packed: &Packed) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let names = std::iter::once(MANIFEST).chain(
        packed
            .parts
            .keys()
            .map(String::as_str)
            .filter(|n| *n != MANIFEST),
    );
    for name in names {
        let Some(bytes) = packed.parts.get(name) else {
            continue;
        };
        let mut header = tar::Header::new_ustar();
        header.set_path(name)?;
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, bytes.as_slice())?;
    }
    let tar = tar.into_inner()?;
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    for parameter in [
        CParameter::WindowLog(ZSTD_WINDOW_LOG),
        CParameter::HashLog(ZSTD_WINDOW_LOG),
        CParameter::ChainLog(ZSTD_WINDOW_LOG),
    ] {
        zstd.set_parameter(parameter)?;
    }
    zstd.compress(&tar)
}
