//! candle's all-MiniLM-L6-v2 against sentence-transformers: reference vectors for 50 code
//! snippets (tests/data/reference.json, written by tests/embedding/make_reference.py with
//! sentence-transformers on the CPU) must be matched with cosine ≥ 0.999, in any batching.
//! Needs the real model, which `scripts/setup.sh` installs.

use doctown_core::embed::{cosine, Embedder, DIMENSIONS};
use doctown_gpu_service::local::LocalEmbedder;
use doctown_gpu_service::model;
use doctown_gpu_service::scheduler::SchedulerConfig;
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    snippets: Vec<Snippet>,
}

#[derive(Deserialize)]
struct Snippet {
    text: String,
    vector: Vec<f32>,
}

/// Read from this crate's folder as cargo names it at run time, which a test binary run by hand
/// on another host (scripts/cuda-check.sh on a GPU) is told too; else where it was built.
fn reference() -> Reference {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let path = std::path::Path::new(&crate_dir).join("tests/data/reference.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The CPU, unless `DOCTOWN_DEVICE=auto` asks for the GPU (scripts/cuda-check.sh).
async fn embedder() -> LocalEmbedder {
    let dir = model::resolve(None).await.unwrap_or_else(|e| panic!("{e}"));
    let gpu = std::env::var("DOCTOWN_DEVICE").is_ok_and(|d| d == "auto");
    let device = doctown_gpu_service::minilm::pick_device(gpu);
    eprintln!("device: {device:?}");
    LocalEmbedder::load(&dir, device, SchedulerConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn matches_sentence_transformers_on_fifty_snippets() {
    let reference = reference();
    assert_eq!(reference.max_seq_length, doctown_core::embed::MAX_TOKENS);
    assert!(reference.snippets.len() >= 50);
    let embedder = embedder().await;
    let texts: Vec<String> = reference.snippets.iter().map(|s| s.text.clone()).collect();
    // All at once (the scheduler re-cuts them by tokens), and in small client batches.
    let together = embedder.embed(&texts).await.unwrap();
    let mut in_sixteens = Vec::new();
    for batch in texts.chunks(16) {
        in_sixteens.extend(embedder.embed(batch).await.unwrap());
    }
    let mut worst = 1.0f32;
    for (i, snippet) in reference.snippets.iter().enumerate() {
        assert_eq!(together[i].len(), DIMENSIONS);
        for got in [&together[i], &in_sixteens[i]] {
            let c = cosine(got, &snippet.vector);
            worst = worst.min(c);
            assert!(
                c >= 0.999,
                "snippet {i} ({:?}…): cosine {c}",
                &snippet.text.chars().take(40).collect::<String>()
            );
        }
    }
    eprintln!("worst cosine against sentence-transformers: {worst:.6}");
}

#[tokio::test]
async fn a_vector_is_the_same_alone_and_in_a_batch_of_256_mixed_lengths() {
    let reference = reference();
    let embedder = embedder().await;
    let texts: Vec<String> = (0..256)
        .map(|i| {
            let s = &reference.snippets[i % reference.snippets.len()].text;
            format!("{s}\n// variant {i}")
        })
        .collect();
    let batch = embedder.embed(&texts).await.unwrap();
    for i in [0usize, 7, 44, 45, 128, 255] {
        let alone = embedder.embed(&texts[i..=i]).await.unwrap();
        let c = cosine(&alone[0], &batch[i]);
        assert!(c >= 0.99999, "text {i}: cosine {c} alone vs in the batch");
        // On the CPU, bit for bit: docpacks are reproducible whatever batches formed.
        if embedder.device() == "cpu" {
            assert_eq!(alone[0], batch[i], "text {i}: alone vs in the batch");
        }
    }
}
