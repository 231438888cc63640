//! gpu-service over real HTTP: the real model behind the real axum server on a local port.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use doctown_core::embed::wire::{BatchChunk, BatchRequest, BatchResponse, VectorEncoding};
use doctown_core::embed::{cosine, DIMENSIONS};
use doctown_gpu_service::local::LocalEmbedder;
use doctown_gpu_service::model;
use doctown_gpu_service::scheduler::SchedulerConfig;
use doctown_gpu_service::server::{router, MAX_TEXT_BYTES};
use serde_json::{json, Value};

async fn serve(config: SchedulerConfig, api_key: Option<&str>) -> String {
    let dir = model::resolve(None).await.unwrap_or_else(|e| panic!("{e}"));
    let embedder = LocalEmbedder::load(&dir, candle_core::Device::Cpu, config)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = router(embedder, api_key.map(str::to_owned));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// POSTs `body` as JSON and reads the reply as `T`.
async fn post<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: String,
    body: &impl serde::Serialize,
) -> T {
    let response = client.post(url).json(body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn batch(id: &str, texts: &[&str], encoding: VectorEncoding) -> BatchRequest {
    BatchRequest {
        batch_id: id.into(),
        chunks: texts
            .iter()
            .enumerate()
            .map(|(i, t)| BatchChunk {
                chunk_id: format!("c{i}"),
                content: (*t).into(),
            })
            .collect(),
        encoding,
    }
}

const TEXTS: [&str; 3] = [
    "fn parse(input: &str) -> Result<Ast, Error>",
    "def send(self, request, **kwargs):\n    return self.adapter.send(request)",
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request)",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_in_its_own_api() {
    let base = serve(SchedulerConfig::default(), None).await;
    let client = reqwest::Client::new();

    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["dimensions"], DIMENSIONS);

    // Doctown's batch endpoint, f32 then f16.
    let response = client
        .post(format!("{base}/embed/batch"))
        .json(&batch("b1", &TEXTS, VectorEncoding::F32))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for h in [
        "x-queue-time",
        "x-inference-time",
        "x-compute-tokens",
        "x-compute-type",
    ] {
        assert!(response.headers().contains_key(h), "missing header {h}");
    }
    let plain: BatchResponse = response.json().await.unwrap();
    assert_eq!(plain.batch_id, "b1");
    assert_eq!(plain.vectors.len(), 3);
    assert!(plain.tokens > 20);
    let f32s: Vec<Vec<f32>> = plain
        .vectors
        .iter()
        .map(|v| v.vector.decode(DIMENSIONS).unwrap())
        .collect();
    assert_eq!(plain.vectors[2].chunk_id, "c2");

    let packed: BatchResponse = post(
        &client,
        format!("{base}/embed/batch"),
        &batch("b2", &TEXTS, VectorEncoding::F16Base64),
    )
    .await;
    assert_eq!(packed.encoding, VectorEncoding::F16Base64);
    for (v, reference) in packed.vectors.iter().zip(&f32s) {
        assert!(cosine(&v.vector.decode(DIMENSIONS).unwrap(), reference) > 0.9999);
    }

    // TEI: one string or many; normalize=false gives the raw mean; long input refused unless
    // truncate=true.
    let tei: Vec<Vec<f32>> = post(
        &client,
        format!("{base}/embed"),
        &json!({ "inputs": TEXTS }),
    )
    .await;
    assert!(cosine(&tei[1], &f32s[1]) > 0.99999);
    let one: Vec<Vec<f32>> = post(
        &client,
        format!("{base}/embed"),
        &json!({ "inputs": TEXTS[0], "normalize": false }),
    )
    .await;
    let norm: f32 = one[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() > 0.01,
        "raw mean should not be unit length: {norm}"
    );
    assert!(cosine(&one[0], &f32s[0]) > 0.99999);
    let long = "token ".repeat(400);
    let refused = client
        .post(format!("{base}/embed"))
        .json(&json!({ "inputs": long }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("truncate"),
        "{body}"
    );
    let truncated = client
        .post(format!("{base}/embed"))
        .json(&json!({ "inputs": long, "truncate": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(truncated.status(), 200);
    assert_eq!(truncated.headers()["x-compute-tokens"], "256");

    // OpenAI: floats, base64 f32, usage, and an unknown model.
    let openai: Value = post(
        &client,
        format!("{base}/v1/embeddings"),
        &json!({ "input": TEXTS, "model": "sentence-transformers/all-MiniLM-L6-v2" }),
    )
    .await;
    assert_eq!(openai["object"], "list");
    assert_eq!(openai["data"][2]["index"], 2);
    assert_eq!(openai["usage"]["prompt_tokens"], plain.tokens);
    let first: Vec<f32> = serde_json::from_value(openai["data"][0]["embedding"].clone()).unwrap();
    assert!(cosine(&first, &f32s[0]) > 0.99999);
    let b64: Value = post(
        &client,
        format!("{base}/v1/embeddings"),
        &&json!({ "input": TEXTS[2], "model": "all-MiniLM-L6-v2", "encoding_format": "base64" }),
    )
    .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert!(cosine(&decoded, &f32s[2]) > 0.99999);
    let unknown = client
        .post(format!("{base}/v1/embeddings"))
        .json(&json!({ "input": "x", "model": "text-embedding-3-small" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");

    // Metrics, under the project prefix, counting what was done.
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "doctown_gpu_queue_texts",
        "doctown_gpu_batch_tokens_bucket",
        "doctown_gpu_inference_seconds_bucket",
        "doctown_gpu_queue_seconds_count",
        "doctown_gpu_device_busy_seconds_total",
        "endpoint=\"openai\",status=\"404\"} 1",
    ] {
        assert!(metrics.contains(name), "no {name} in\n{metrics}");
    }
    let texts_total = metrics
        .lines()
        .find(|l| l.starts_with("doctown_gpu_texts_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap();
    assert!(texts_total >= 13, "{texts_total}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_client_errors() {
    let base = serve(SchedulerConfig::default(), Some("s3cret")).await;
    let client = reqwest::Client::new();
    let authed = |path: &str| client.post(format!("{base}{path}")).bearer_auth("s3cret");

    // Auth: /health is open; everything else wants the key.
    assert_eq!(
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for (request, why) in [
        (client.post(format!("{base}/embed/batch")), "no key"),
        (
            client
                .post(format!("{base}/embed/batch"))
                .bearer_auth("wrong"),
            "wrong key",
        ),
        (client.get(format!("{base}/metrics")), "metrics without key"),
    ] {
        let response = request
            .json(&batch("b", &TEXTS, VectorEncoding::F32))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{why}");
    }

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "empty batch",
            authed("/embed/batch").json(&batch("b", &[], VectorEncoding::F32)),
            400,
            "empty_input",
        ),
        (
            "invalid JSON",
            authed("/embed/batch")
                .body("{\"batch_id\": ")
                .header("content-type", "application/json"),
            400,
            "invalid_json",
        ),
        (
            "missing field",
            authed("/embed/batch").json(&json!({ "chunks": [] })),
            400,
            "invalid_json",
        ),
        (
            "huge text",
            authed("/embed/batch").json(&batch(
                "b",
                &[&"x".repeat(MAX_TEXT_BYTES + 1)],
                VectorEncoding::F32,
            )),
            413,
            "text_too_large",
        ),
        (
            "huge body",
            authed("/embed").json(&json!({ "inputs": "y".repeat(17 << 20) })),
            413,
            "body_too_large",
        ),
        (
            "TEI empty",
            authed("/embed").json(&json!({ "inputs": [] })),
            422,
            "empty_input",
        ),
        (
            "OpenAI token ids",
            authed("/v1/embeddings").json(&json!({ "input": [[1, 2, 3]] })),
            400,
            "unsupported_input",
        ),
        (
            "too many inputs",
            authed("/v1/embeddings").json(&json!({ "input": vec!["a"; 3000] })),
            413,
            "too_many_inputs",
        ),
    ];
    for (why, request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{why}");
        let body: Value = response.json().await.unwrap();
        let got = body["code"]
            .as_str()
            .or(body["error_type"].as_str())
            .or(body["error"]["code"].as_str());
        assert_eq!(got, Some(code), "{why}: {body}");
    }
    let ok = authed("/embed/batch")
        .json(&batch("b", &TEXTS, VectorEncoding::F32))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_get_their_own_vectors() {
    let base = serve(SchedulerConfig::default(), None).await;
    let client = reqwest::Client::new();
    let alone: Vec<Vec<f32>> = post(
        &client,
        format!("{base}/embed"),
        &json!({ "inputs": TEXTS }),
    )
    .await;
    // 8 clients, each sending the texts in its own order with its own extra text; the service
    // mixes them into shared batches, and each must get back exactly its own vectors.
    let clients = (0..8).map(|c| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let mut texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
            texts.rotate_left(c % 3);
            texts.push(format!("fn client_{c}() {{}}"));
            let request = BatchRequest {
                batch_id: format!("client-{c}"),
                chunks: texts
                    .iter()
                    .map(|t| BatchChunk {
                        chunk_id: t.clone(),
                        content: t.clone(),
                    })
                    .collect(),
                encoding: VectorEncoding::F32,
            };
            let response: BatchResponse =
                post(&client, format!("{base}/embed/batch"), &request).await;
            (c, response)
        }
    });
    for (c, response) in futures::future::join_all(clients).await {
        assert_eq!(response.batch_id, format!("client-{c}"));
        for v in &response.vectors {
            let vector = v.vector.decode(DIMENSIONS).unwrap();
            match TEXTS.iter().position(|t| *t == v.chunk_id) {
                Some(i) => assert!(cosine(&vector, &alone[i]) > 0.99999, "client {c}, text {i}"),
                None => assert!(v.chunk_id.contains(&format!("client_{c}"))),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    // A queue of 600 tokens: one 256-token text runs while a few more wait, the rest are shed.
    let config = SchedulerConfig {
        max_queue_tokens: 600,
        max_batch_tokens: 256,
        ..SchedulerConfig::default()
    };
    let base = serve(config, None).await;
    let client = reqwest::Client::new();
    let long = "let value = compute(input); ".repeat(60);
    let requests = (0..12).map(|i| {
        let client = client.clone();
        let url = format!("{base}/embed/batch");
        let text = format!("{long} {i}");
        async move {
            client
                .post(url)
                .json(&batch(&format!("b{i}"), &[&text], VectorEncoding::F32))
                .send()
                .await
                .unwrap()
        }
    });
    let responses = futures::future::join_all(requests).await;
    let mut shed = 0;
    let mut served = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => served += 1,
            503 => {
                shed += 1;
                let after: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(after >= 1);
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "queue_full");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(served >= 2 && shed >= 1, "served {served}, shed {shed}");
    // Once drained, it serves again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut status = 0;
    for _ in 0..50 {
        let r = client
            .post(format!("{base}/embed/batch"))
            .json(&batch("after", &TEXTS, VectorEncoding::F32))
            .send()
            .await
            .unwrap();
        status = r.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200);
}
