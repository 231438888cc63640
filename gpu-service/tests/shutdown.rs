//! The `gpu-service` binary: it starts, serves, and on SIGTERM finishes the work in flight
//! before it exits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

#[tokio::test]
async fn sigterm_finishes_in_flight_work_then_exits() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpu-service"))
        .args(["--host", "127.0.0.1", "--port", "0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("gpu-service did not start");
        if let Some(rest) = line.split("gpu-service on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };

    // Enough work to still be running when the signal comes.
    let texts: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "{} {i}",
                "fn step(state: &mut State) -> Outcome; ".repeat(20)
            )
        })
        .collect();
    let request = tokio::spawn({
        let url = format!("{base}/embed");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "inputs": texts, "truncate": true }))
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let response = request.await.unwrap();
    assert_eq!(response.status(), 200);
    let vectors: Vec<Value> = response.json().await.unwrap();
    assert_eq!(vectors.len(), 64);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    let lines: Vec<String> = rx.try_iter().collect();
    assert!(
        lines.iter().any(|l| l.contains("gpu-service stopped")),
        "{lines:?}"
    );
}
