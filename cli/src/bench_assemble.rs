//! `doctown bench assemble`: assembly time at growing sizes on a synthetic repository, PageRank
//! beside `petgraph::algo::page_rank`, and clustering beside the plain `hdbscan` call on the
//! full-dimension vectors — in one run, on one machine.

use std::collections::BTreeMap;
use std::time::Instant;

use doctown_core::assemble::{
    assemble, cluster_vectors, min_cluster_size, page_rank, reduce_dimensions, AssemblySettings,
    Corpus, Csr,
};
use doctown_core::embed::{normalize, DIMENSIONS};
use doctown_core::events::{Emitter, Event, EventSink};
use doctown_core::hash::stable_id;
use doctown_core::lang::Language;
use doctown_core::symbols::{RawReference, ReferenceKind, Span, Symbol, SymbolKind};

/// Symbols per synthetic file, and calls per function: a typical module of a real repository.
const PER_FILE: usize = 20;
const CALLS: usize = 4;
/// Nodes of the PageRank comparison, and its rounds (fixed, so both do the same work).
const PAGERANK_NODES: usize = 4_000;
const PAGERANK_ROUNDS: usize = 20;

#[derive(clap::Args, Debug)]
pub struct AssembleBench {
    /// Symbol counts to assemble.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,50000")]
    sizes: Vec<usize>,
    /// Symbols clustered by both HDBSCAN runs (the plain one is O(n² × 384)).
    #[arg(long, default_value_t = 2_000)]
    cluster_points: usize,
}

/// Deterministic numbers for the synthetic repository.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

struct Discard;
impl EventSink for Discard {
    fn emit(&mut self, _: Event) {}
}

/// A Rust-like repository of `n` symbols: files of [`PER_FILE`] functions and one struct, each
/// function calling others through imports, paths and its own module; vectors around √n topics.
fn synthetic(n: usize, rng: &mut Rng) -> (Corpus, BTreeMap<String, Vec<f32>>) {
    let files = n.div_ceil(PER_FILE + 2);
    let topics: Vec<Vec<f32>> = (0..(n as f64).sqrt() as usize / 2 + 2)
        .map(|_| (0..DIMENSIONS).map(|_| rng.unit()).collect())
        .collect();
    let mut corpus = Corpus::default();
    let mut vectors = BTreeMap::new();
    let span = Span {
        start_byte: 0,
        end_byte: 100,
        start_line: 1,
        end_line: 10,
    };
    let mut add = |corpus: &mut Corpus, symbol: Symbol, rng: &mut Rng, topic: usize| {
        let mut v: Vec<f32> = topics[topic].iter().map(|x| x + 0.3 * rng.unit()).collect();
        normalize(&mut v);
        let chunk = stable_id(&[&symbol.id, "0"]);
        vectors.insert(chunk.clone(), v);
        corpus.chunks.insert(symbol.id.clone(), vec![chunk]);
        corpus.symbols.insert(symbol.id.clone(), symbol);
    };
    for f in 0..files {
        let path = format!("src/m{f}.rs");
        let file_id = stable_id(&["file", &path]);
        let topic = f % topics.len();
        let imports: Vec<RawReference> = (0..3)
            .map(|_| RawReference {
                kind: ReferenceKind::Import,
                target: format!("crate::m{}::f{}", rng.below(files), rng.below(PER_FILE)),
                qualifier: None,
                receiver: false,
                line: 1,
            })
            .collect();
        let symbol = |kind, name: String, parent: Option<&str>, references| Symbol {
            id: stable_id(&[&path, &name]),
            kind,
            qualified_name: if kind == SymbolKind::File {
                path.clone()
            } else {
                format!("crate::m{f}::{name}")
            },
            name,
            language: Language::Rust,
            path: path.clone(),
            span,
            parent: parent.map(str::to_owned),
            signature: String::new(),
            doc: None,
            visibility: None,
            references,
            complexity: 1,
        };
        let mut file = symbol(SymbolKind::File, format!("m{f}.rs"), None, imports.clone());
        file.id = file_id.clone();
        add(&mut corpus, file, rng, topic);
        add(
            &mut corpus,
            symbol(
                SymbolKind::Struct,
                format!("T{f}"),
                Some(&file_id),
                Vec::new(),
            ),
            rng,
            topic,
        );
        for k in 0..PER_FILE {
            let mut references = vec![RawReference {
                kind: ReferenceKind::Type,
                target: format!("T{}", rng.below(files)),
                qualifier: None,
                receiver: false,
                line: 2,
            }];
            for c in 0..CALLS {
                let (target, qualifier) = match c % 3 {
                    0 => (format!("f{}", rng.below(PER_FILE)), None),
                    1 => (
                        format!("f{}", rng.below(PER_FILE)),
                        Some(format!("crate::m{}", rng.below(files))),
                    ),
                    _ => {
                        let import = &imports[rng.below(imports.len())].target;
                        let name = import.rsplit("::").next().unwrap_or("f0");
                        (name.to_owned(), None)
                    }
                };
                references.push(RawReference {
                    kind: ReferenceKind::Call,
                    target,
                    qualifier,
                    receiver: false,
                    line: 3 + c,
                });
            }
            let function = symbol(
                SymbolKind::Function,
                format!("f{k}"),
                Some(&file_id),
                references,
            );
            add(&mut corpus, function, rng, topic);
        }
    }
    (corpus, vectors)
}

fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

pub fn run(args: AssembleBench) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build; run `cargo run --release -p doctown-cli -- bench assemble`"
        );
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let settings = AssemblySettings::default();
    println!("assembly (resolve, graph, PageRank, PCA + HDBSCAN, similar_to, fact bundles)");
    println!(
        "{:>8} {:>9} {:>9} {:>10} {:>10}",
        "symbols", "edges", "clusters", "seconds", "µs/symbol"
    );
    for &n in &args.sizes {
        let (corpus, vectors) = synthetic(n, &mut rng);
        let mut emitter = Emitter::new("bench", "bench", Discard, crate::SystemClock);
        let start = Instant::now();
        let assembly = assemble(&corpus, &vectors, &settings, &mut emitter);
        let took = seconds(start);
        println!(
            "{:>8} {:>9} {:>9} {:>10.3} {:>10.1}",
            assembly.symbols.len(),
            assembly.edges.len(),
            assembly.clusters.len(),
            took,
            took * 1e6 / assembly.symbols.len() as f64
        );
    }

    // PageRank on one random graph, both sides the same rounds.
    let edges: Vec<(usize, usize)> = (0..PAGERANK_NODES * 5)
        .map(|_| (rng.below(PAGERANK_NODES), rng.below(PAGERANK_NODES)))
        .filter(|(a, b)| a != b)
        .collect();
    let start = Instant::now();
    let csr = Csr::from_edges(PAGERANK_NODES, edges.iter().map(|&(a, b)| (a, b, 1.0)));
    let ours = page_rank(&csr, 0.85, 0.0, PAGERANK_ROUNDS);
    let ours_took = seconds(start);
    let mut graph: petgraph::graph::DiGraph<(), ()> = petgraph::graph::DiGraph::new();
    let nodes: Vec<_> = (0..PAGERANK_NODES).map(|_| graph.add_node(())).collect();
    let mut unique = edges.clone();
    unique.sort_unstable();
    unique.dedup();
    for (a, b) in unique {
        graph.add_edge(nodes[a], nodes[b], ());
    }
    let start = Instant::now();
    let reference = petgraph::algo::page_rank(&graph, 0.85_f64, PAGERANK_ROUNDS);
    let reference_took = seconds(start);
    let top = |r: &[f64]| {
        let mut o: Vec<usize> = (0..r.len()).collect();
        o.sort_by(|&a, &b| r[b].total_cmp(&r[a]));
        o.truncate(10);
        o
    };
    let shared = top(&ours)
        .iter()
        .filter(|i| top(&reference).contains(i))
        .count();
    println!(
        "\nPageRank, {PAGERANK_NODES} nodes, {} edges, {PAGERANK_ROUNDS} rounds\n  CSR power iteration {:>9.4} s\n  petgraph page_rank  {:>9.4} s\n  ratio {:.0}× faster; top-10 in common: {shared}/10",
        csr.targets.len(),
        ours_took,
        reference_took,
        reference_took / ours_took.max(1e-9)
    );

    // Clustering: the same symbols, reduced then HDBSCAN, against HDBSCAN on all 384 dims.
    let (corpus, vectors) = synthetic(args.cluster_points, &mut rng);
    let points: Vec<Vec<f32>> = corpus
        .symbols
        .keys()
        .filter_map(|id| corpus.symbol_vector(id, &vectors))
        .collect();
    let refs: Vec<&[f32]> = points.iter().map(Vec::as_slice).collect();
    let start = Instant::now();
    let reduced = reduce_dimensions(&refs, settings.reduced_dimensions, settings.seed);
    let (method, assignment) = cluster_vectors(&reduced, settings.seed);
    let ours_took = seconds(start);
    let size = min_cluster_size(points.len());
    let params = hdbscan::HdbscanHyperParams::builder()
        .min_cluster_size(size)
        .min_samples(size.min(5))
        .build();
    let start = Instant::now();
    let plain = hdbscan::Hdbscan::new(&points, params).cluster()?;
    let plain_took = seconds(start);
    let count = |labels: &[Option<usize>]| {
        let mut ids: Vec<usize> = labels.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        (ids.len(), labels.iter().filter(|l| l.is_none()).count())
    };
    let (ours_clusters, ours_noise) = count(&assignment);
    let plain_labels: Vec<Option<usize>> = plain.iter().map(|&l| usize::try_from(l).ok()).collect();
    let (plain_clusters, plain_noise) = count(&plain_labels);
    println!(
        "\nclustering, {} symbols × {DIMENSIONS} dims\n  PCA to {} + {:?}   {:>9.3} s  {ours_clusters} clusters, {ours_noise} noise\n  hdbscan on {DIMENSIONS} dims {:>9.3} s  {plain_clusters} clusters, {plain_noise} noise\n  ratio {:.1}× faster",
        points.len(),
        settings.reduced_dimensions,
        method,
        ours_took,
        plain_took,
        plain_took / ours_took.max(1e-9)
    );
    Ok(())
}
