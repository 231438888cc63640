//! `doctown embed` through the real binary, with both backends: the model in-process and
//! gpu-service (the real server, on a local port). Needs the model `scripts/setup.sh` installs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::gpu_service;
use doctown_core::embed::{cosine, DIMENSIONS};
use serde_json::Value;

fn fixture(lang: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(lang)
}

struct Run {
    events: Vec<Value>,
    stderr: String,
}

impl Run {
    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.events.iter().filter(move |e| e["event"] == name)
    }

    fn vectors(&self) -> BTreeMap<String, Vec<f32>> {
        self.named("embedding.chunk_vector.v1")
            .map(|e| {
                let v: Vec<f32> = serde_json::from_value(e["payload"]["vector"].clone()).unwrap();
                (e["payload"]["chunk_id"].as_str().unwrap().to_owned(), v)
            })
            .collect()
    }

    fn chunk_ids(&self) -> BTreeSet<String> {
        self.named("ingest.chunk_created.v1")
            .map(|e| e["payload"]["chunk"]["id"].as_str().unwrap().to_owned())
            .collect()
    }

    fn completed(&self) -> &Value {
        &self
            .named("embedding.completed.v1")
            .next()
            .expect("embedding.completed")["payload"]
    }
}

fn doctown_embed(source: &Path, embedder: &str) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(["embed", source.to_str().unwrap(), "--embedder", embedder])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "doctown embed failed: {stderr}");
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (0..events.len() as u64).collect::<Vec<_>>(),
        "one gapless sequence"
    );
    Run { events, stderr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_embed_every_chunk_alike() {
    let local = doctown_embed(&fixture("python"), "local");
    let chunks = local.chunk_ids();
    let vectors = local.vectors();
    assert!(!chunks.is_empty());
    assert_eq!(
        vectors.keys().cloned().collect::<BTreeSet<_>>(),
        chunks,
        "a vector for every chunk"
    );
    for v in vectors.values() {
        assert_eq!(v.len(), DIMENSIONS);
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
    }
    assert_eq!(local.completed()["status"], "ok");
    assert_eq!(local.completed()["vectors"], chunks.len());
    // Every batch started was completed, once, with its chunks.
    let started: Vec<&str> = local
        .named("embedding.batch_started.v1")
        .map(|e| e["payload"]["batch_id"].as_str().unwrap())
        .collect();
    let completed: Vec<&str> = local
        .named("embedding.batch_completed.v1")
        .map(|e| e["payload"]["batch_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        started.iter().collect::<BTreeSet<_>>(),
        completed.iter().collect::<BTreeSet<_>>()
    );
    assert!(
        local.stderr.contains("embedding completed"),
        "{}",
        local.stderr
    );

    let base = gpu_service().await;
    let remote = tokio::task::spawn_blocking({
        let source = fixture("python");
        move || doctown_embed(&source, &base)
    })
    .await
    .unwrap();
    assert_eq!(remote.chunk_ids(), chunks, "the same ingest");
    let remote_vectors = remote.vectors();
    assert_eq!(remote_vectors.len(), vectors.len());
    for (id, v) in &vectors {
        // f16 on the wire: a cosine of ~0.99999 to the f32 vector.
        let c = cosine(v, &remote_vectors[id]);
        assert!(c > 0.9995, "chunk {id}: cosine {c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_a_service_drops_fails_or_holds_are_retried_and_every_vector_kept() {
    use common::faulty_proxy::{serve, Fault};
    let service = gpu_service().await;
    // The first connections: dropped with no reply, answered 500, held 2 s. Two faults at
    // most, so even a batch that meets both has its third attempt.
    let script = vec![
        Fault::Drop,
        Fault::ServerError,
        Fault::Delay(std::time::Duration::from_secs(2)),
    ];
    let (proxy, connections) = serve(&service, script).await;
    let run = tokio::task::spawn_blocking(move || doctown_embed(&fixture("python"), &proxy))
        .await
        .unwrap();
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    assert_eq!(run.completed()["status"], "ok", "{}", run.stderr);
    assert_eq!(
        run.vectors().keys().cloned().collect::<BTreeSet<_>>(),
        run.chunk_ids(),
        "a vector for every chunk"
    );
    // Each fault cost a batch one attempt, and the batch was sent again.
    let mut attempts: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for e in run.named("embedding.batch_completed.v1") {
        let p = &e["payload"];
        attempts
            .entry(p["batch_id"].as_str().unwrap().to_owned())
            .or_default()
            .push((p["attempt"].as_u64().unwrap(), p["status"].to_string()));
    }
    let failed: usize = attempts
        .values()
        .flatten()
        .filter(|(_, status)| status == "\"failed\"")
        .count();
    assert_eq!(failed, 2, "the drop and the 500: {attempts:?}");
    for (batch, tries) in &attempts {
        let (last, status) = tries.last().unwrap();
        assert_eq!(status, "\"ok\"", "batch {batch}: {tries:?}");
        assert_eq!(*last as usize, tries.len(), "batch {batch}: {tries:?}");
    }
}

#[test]
fn an_unreachable_service_ends_partial_after_three_attempts() {
    // Port 9 (discard) on loopback: nothing listens, every connection is refused.
    let run = doctown_embed(&fixture("go"), "http://127.0.0.1:9");
    let chunks = run.chunk_ids();
    assert!(!chunks.is_empty());
    let completed = run.completed();
    assert_eq!(completed["status"], "partial");
    let skipped: BTreeSet<String> =
        serde_json::from_value(completed["skipped_chunks"].clone()).unwrap();
    assert_eq!(skipped, chunks);
    let attempts: BTreeSet<u64> = run
        .named("embedding.batch_completed.v1")
        .map(|e| {
            assert_eq!(e["payload"]["status"], "failed");
            e["payload"]["attempt"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(attempts, BTreeSet::from([1, 2, 3]));
    // Ingest's own result is intact.
    assert_eq!(run.named("ingest.completed.v1").count(), 1);
}

#[test]
fn embedding_starts_before_ingest_ends() {
    // A repository large enough that parsing takes a while: 150 modules of small functions.
    let dir = tempfile::tempdir().unwrap();
    for m in 0..150 {
        let body: String = (0..3)
            .map(|f| {
                format!("def handler_{m}_{f}(request):\n    return route_{f}(request, {m})\n\n")
            })
            .collect();
        std::fs::write(dir.path().join(format!("module_{m:03}.py")), body).unwrap();
    }
    let run = doctown_embed(dir.path(), "local");
    let time = |name: &str| {
        run.named(name).next().unwrap()["timestamp"]
            .as_u64()
            .unwrap()
    };
    let first_batch = time("embedding.batch_started.v1");
    let ingest_done = time("ingest.completed.v1");
    assert!(
        first_batch < ingest_done,
        "first batch at {first_batch}, ingest completed at {ingest_done}:\n{}",
        run.stderr
    );
    assert_eq!(run.vectors().len(), run.chunk_ids().len());
    eprintln!("{}", run.stderr);
}
