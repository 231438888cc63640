//! Helpers shared by the docpack tests (each test file uses some of them).
#![allow(dead_code)]

pub mod faulty_proxy;
pub mod github;
pub mod openai;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The parts of a `.docpack` file, unpacked without verification.
pub fn unpack(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let tar = zstd::decode_all(bytes).unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

/// Each JSON part validates against its schema in `docs/schemas/`.
pub fn assert_parts_follow_schemas(docpack_bytes: &[u8]) {
    let schemas = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schemas"));
    let parts = unpack(docpack_bytes);
    for (name, bytes) in &parts {
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let schema_path = schemas.join(format!("{stem}.schema.json"));
        let schema: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{}: {e}", schema_path.display()));
        let instance: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .take(5)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name} against its schema: {errors:#?}");
    }
}

/// gpu-service, the real server with the model on the CPU, on a local port; its base URL.
/// Needs the model `scripts/setup.sh` installs.
pub async fn gpu_service() -> String {
    let dir = doctown_gpu_service::model::resolve(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let embedder = doctown_gpu_service::local::LocalEmbedder::load(
        &dir,
        candle_core::Device::Cpu,
        doctown_gpu_service::scheduler::SchedulerConfig::default(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = doctown_gpu_service::server::router(embedder, None);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Runs `web/tests/browser.mjs` in `mode` against `url` (Playwright driving Debian's Chromium);
/// its screenshots go to `web/screenshots/<mode>/`.
pub fn browser_checks(mode: &str, url: &str) {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    assert!(
        web.join("dist/index.html").is_file(),
        "the website is not built: run scripts/build-web.sh (scripts/test.sh does)"
    );
    let shots = web.join("screenshots").join(mode);
    let run = std::process::Command::new("node")
        .arg(web.join("tests/browser.mjs"))
        .args([mode, url])
        .arg(&shots)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{output}");
    assert!(run.status.success(), "browser checks failed:\n{output}");
}
