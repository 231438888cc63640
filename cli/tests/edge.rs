//! The edge Worker end to end, in the real Workers runtime: `wrangler dev` runs workerd with the
//! Worker `scripts/build-edge.sh` built, its Durable Objects and R2 kept in a temporary folder.
//! gpu-service is the real server with the model on the CPU. GitHub cannot be reached from the
//! test machines: the local stand-in of `common/github.rs` serves the fixture repository the
//! way GitHub's API does.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::github::{fixture_repo, serve_github_hanging};
use common::gpu_service;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// How long the runtime may take to start, and a job to finish: generous, CI machines are slow.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const JOB_TIMEOUT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `wrangler dev` on a free port, with its state in `state`; killed (with workerd) on drop.
struct Wrangler {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Wrangler {
    async fn start(state: &Path, vars: &[(&str, &str)]) -> Wrangler {
        let root = root();
        assert!(
            root.join("edge/build/index.js").exists(),
            "the Worker is not built: run scripts/build-edge.sh (scripts/test.sh does)"
        );
        let bin = root.join("edge/node_modules/.bin");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = state.with_extension(format!("wrangler-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        // wrangler needs Node 22, which edge/node_modules carries.
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        let migrate = Command::new(bin.join("wrangler"))
            .current_dir(&root)
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(state)
            .env("PATH", &path)
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            migrate.status.success(),
            "D1 migrations: {}",
            String::from_utf8_lossy(&migrate.stdout)
        );
        let mut cmd = Command::new(bin.join("wrangler"));
        cmd.current_dir(&root)
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .arg("--persist-to")
            .arg(state)
            .arg("--show-interactive-dev-session=false");
        for (name, value) in vars {
            cmd.args(["--var", &format!("{name}:{value}")]);
        }
        cmd.env("PATH", path)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .expect("wrangler runs: run scripts/setup-edge.sh");
        let mut wrangler = Wrangler {
            child,
            url: String::new(),
            log,
        };
        // Ready when wrangler says where it serves and that address answers as the Worker: the
        // port picked above was let go before wrangler bound it, so another process may hold it.
        let started = Instant::now();
        loop {
            if let Some(url) = wrangler.ready_url() {
                let health = reqwest::get(format!("{url}/api/health")).await;
                if health.is_ok_and(|r| r.status().is_success()) {
                    wrangler.url = url;
                    return wrangler;
                }
            }
            let exited = wrangler.child.try_wait().unwrap().is_some();
            assert!(
                started.elapsed() < START_TIMEOUT && !exited,
                "wrangler dev did not start: {}",
                wrangler.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The URL of wrangler's "Ready on http://…" line, once it has printed it.
    fn ready_url(&self) -> Option<String> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let at = log.find("Ready on http://")? + "Ready on ".len();
        let url: String = log[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ":/.-[]".contains(*c))
            .collect();
        Some(url.trim_end_matches('/').to_owned())
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills wrangler and workerd at once, as a crash would.
    fn kill(&mut self) {
        if self.child.try_wait().is_ok_and(|exited| exited.is_none()) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The fixture repository behind the GitHub stand-in, gpu-service, and a state folder.
struct Stack {
    github: String,
    /// Archive downloads the GitHub stand-in was asked for.
    downloads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    gpu: String,
    state: tempfile::TempDir,
    _repo: tempfile::TempDir,
    /// One runtime at a time: two `wrangler dev` clash on an internal socket of workerd.
    _one_at_a_time: tokio::sync::MutexGuard<'static, ()>,
}

static RUNTIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn stack() -> Stack {
    stack_hanging(0).await
}

/// The stack with the first `hang_downloads` archive downloads from GitHub never answered.
async fn stack_hanging(hang_downloads: usize) -> Stack {
    let one_at_a_time = RUNTIME.lock().await;
    let (repo, _sha) = fixture_repo("python");
    let (github, downloads) = serve_github_hanging(repo.path().to_owned(), hang_downloads);
    Stack {
        github,
        downloads,
        gpu: gpu_service().await,
        state: tempfile::tempdir().unwrap(),
        _repo: repo,
        _one_at_a_time: one_at_a_time,
    }
}

impl Stack {
    async fn wrangler(&self, extra: &[(&str, &str)]) -> Wrangler {
        let mut vars = vec![
            ("GPU_SERVICE_URL", self.gpu.as_str()),
            ("GITHUB_API_URL", self.github.as_str()),
            ("SIGNING_KEY", "a-local-signing-key"),
        ];
        vars.extend_from_slice(extra);
        Wrangler::start(&self.state.path().join("runtime"), &vars).await
    }

    /// The CLI's docpack id for the same repository and ref, embedded by the same gpu-service.
    fn cli_docpack_id(&self) -> String {
        self.cli_docpack(&[]).id
    }

    /// The CLI's docpack for the same repository and ref, embedded by the same gpu-service,
    /// with `args` added.
    fn cli_docpack(&self, args: &[&str]) -> doctown_core::docpack::Docpack {
        let out = self.state.path().join("cli.docpack");
        let run = Command::new(env!("CARGO_BIN_EXE_doctown"))
            .args(["generate", "https://github.com/acme/widgets/tree/v1"])
            .args(["--embedder", &self.gpu, "-o"])
            .arg(&out)
            .args(args)
            .env("DOCTOWN_GITHUB_API_URL", &self.github)
            .env("DOCTOWN_CACHE_DIR", self.state.path().join("texts"))
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "doctown generate: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        doctown_core::docpack::read(&bytes).unwrap()
    }
}

/// A submitted job: its id, and the token of its (new) owner.
struct Submitted {
    id: String,
    token: String,
}

async fn submit(url: &str) -> Submitted {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/jobs"))
        .json(&json!({"repo": "https://github.com/acme/widgets", "ref": "v1"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 201, "POST {url}/api/jobs: {body}");
    let job: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(job["phase"], "fetching");
    Submitted {
        id: job["job_id"].as_str().unwrap().to_owned(),
        token: job["token"]
            .as_str()
            .expect("a new owner's token")
            .to_owned(),
    }
}

async fn status(url: &str, job: &Submitted) -> Value {
    reqwest::Client::new()
        .get(format!("{url}/api/jobs/{}", job.id))
        .bearer_auth(&job.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn approve(url: &str, job: &Submitted) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{url}/api/jobs/{}/approve", job.id))
        .bearer_auth(&job.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The job's event socket from `since`, opened with its owner's token.
async fn listen(url: &str, job: &Submitted, since: u64) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let ws = format!(
        "{}/api/jobs/{}/events?since={since}",
        url.replacen("http", "ws", 1),
        job.id
    );
    let mut request = ws.into_client_request().unwrap();
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", job.token).parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next event from the socket.
async fn next_event(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(JOB_TIMEOUT, socket.next())
            .await
            .expect("an event within the job timeout")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Events until (and with) the first named `name`.
async fn events_until(socket: &mut Socket, name: &str, into: &mut Vec<Value>) {
    loop {
        let event = next_event(socket).await;
        let done = event["event"] == name;
        into.push(event);
        if done {
            return;
        }
    }
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

fn position(events: &[Value], name: &str) -> usize {
    events
        .iter()
        .position(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} among the events"))
}

/// Submits a job, follows its events to the end of assembly and approves it.
async fn submit_and_approve(url: &str) -> (Submitted, Socket, Vec<Value>) {
    let job = submit(url).await;
    let mut socket = listen(url, &job, 0).await;
    let mut events = Vec::new();
    events_until(&mut socket, "assembly.completed.v1", &mut events).await;
    approve(url, &job).await;
    (job, socket, events)
}

/// Submits a job and follows it to `job.completed`, approving its estimate: its events.
async fn submit_and_finish(url: &str) -> (Submitted, Vec<Value>) {
    let job = submit(url).await;
    let mut socket = listen(url, &job, 0).await;
    let mut events = Vec::new();
    approve_and_finish(url, &job, &mut socket, &mut events).await;
    (job, events)
}

/// Approves once assembly is done, then reads to `job.completed`.
async fn approve_and_finish(
    url: &str,
    job: &Submitted,
    socket: &mut Socket,
    events: &mut Vec<Value>,
) {
    if !events.iter().any(|e| e["event"] == "assembly.completed.v1") {
        events_until(socket, "assembly.completed.v1", events).await;
    }
    let awaiting = status(url, job).await;
    assert_eq!(awaiting["phase"], "awaiting_approval", "{awaiting}");
    assert_eq!(awaiting["estimate"]["verbalizer"], "template");
    assert_eq!(awaiting["estimate"]["usd"], 0.0);
    let approved = approve(url, job).await;
    assert_eq!(approved["phase"], "generating");
    events_until(socket, "job.completed.v1", events).await;
}

/// GET with an optional bearer token: the status and the body.
async fn get(url: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// POST (JSON) as the owner.
async fn post(url: &str, token: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn download(url: &str, docpack_id: &str, token: &str) -> Vec<u8> {
    let (status, bytes) = get(&format!("{url}/api/docpacks/{docpack_id}"), Some(token)).await;
    assert_eq!(status, 200);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_in_workerd_streams_every_stage_and_packs_what_the_cli_packs() {
    let stack = stack().await;
    // A repository token the Worker sends to GitHub, and must show nowhere else.
    let wrangler = stack.wrangler(&[("GITHUB_TOKEN", GITHUB_TOKEN)]).await;
    let url = wrangler.url.clone();

    let bad = reqwest::Client::new()
        .post(format!("{url}/api/jobs"))
        .json(&json!({"repo": "https://example.com/a/b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "bad_request");
    assert!(bad["error"]["message"]
        .as_str()
        .unwrap()
        .contains("https://github.com/OWNER/REPO"));

    let job = submit(&url).await;
    // A client that drops after a few events, and one that comes back with its last seq.
    let mut first = listen(&url, &job, 0).await;
    let mut events = Vec::new();
    for _ in 0..5 {
        events.push(next_event(&mut first).await);
    }
    drop(first);
    let mut socket = listen(&url, &job, 5).await;
    approve_and_finish(&url, &job, &mut socket, &mut events).await;

    assert_eq!(
        seqs(&events),
        (0..events.len() as u64).collect::<Vec<_>>(),
        "every event once, in order, across the reconnect"
    );
    assert!(events.iter().all(|e| e["job_id"] == job.id.as_str()));
    let order = [
        "ingest.started.v1",
        "ingest.file_detected.v1",
        "ingest.chunk_created.v1",
        "ingest.completed.v1",
        "embedding.completed.v1",
        "assembly.started.v1",
        "assembly.completed.v1",
        "generation.started.v1",
        "generation.completed.v1",
        "pack.started.v1",
        "pack.completed.v1",
        "job.completed.v1",
    ];
    let at: Vec<usize> = order.iter().map(|n| position(&events, n)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "stage order: {at:?}");
    for name in [
        "embedding.started.v1",
        "embedding.batch_started.v1",
        "embedding.chunk_vector.v1",
        "embedding.batch_completed.v1",
        "assembly.cluster_created.v1",
        "generation.symbol_documented.v1",
    ] {
        position(&events, name);
    }
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "ok");
    let docpack_id = done["docpack_id"].as_str().unwrap();
    let finished = status(&url, &job).await;
    assert_eq!(finished["phase"], "completed");
    assert_eq!(finished["docpack"]["id"], docpack_id);

    let bytes = download(&url, docpack_id, &job.token).await;
    let file = stack.state.path().join("edge.docpack");
    std::fs::write(&file, &bytes).unwrap();
    let verify = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "doctown verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains(docpack_id));

    assert_eq!(
        docpack_id,
        stack.cli_docpack_id(),
        "the edge and the CLI pack the same docpack"
    );
    check_access(&url, docpack_id, &job.token).await;
    check_job_access(&url, &job).await;

    // The repository token is never returned, logged or packed.
    let shown = [
        serde_json::to_string(&events).unwrap(),
        finished.to_string(),
        String::from_utf8_lossy(&bytes).into_owned(),
        common::unpack(&bytes)
            .values()
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect(),
        std::fs::read_to_string(&wrangler.log).unwrap(),
    ];
    assert!(
        shown[4].contains(&job.id),
        "the Worker's log holds its steps"
    );
    for (what, text) in [
        "events",
        "status",
        "docpack",
        "docpack parts",
        "the Worker's log",
    ]
    .iter()
    .zip(&shown)
    {
        assert!(
            !text.contains(GITHUB_TOKEN),
            "the repository token is in {what}"
        );
    }
}

/// The repository token given to the Worker in the end-to-end test.
const GITHUB_TOKEN: &str = "ghp_repository_token_that_must_not_leak";

/// Private by default: the owner's token, a share link, or an unexpired signed link open it.
async fn check_access(url: &str, docpack_id: &str, owner: &str) {
    let docpack = format!("{url}/api/docpacks/{docpack_id}");
    let code = |body: &[u8]| -> String {
        let body: Value = serde_json::from_slice(body).unwrap();
        body["error"]["code"].as_str().unwrap().to_owned()
    };
    let (status, body) = get(&docpack, None).await;
    assert_eq!((status, code(&body).as_str()), (401, "unauthorized"));
    let (status, body) = get(&docpack, Some("not-a-token")).await;
    assert_eq!((status, code(&body).as_str()), (401, "unauthorized"));
    // Another owner (a token from a job of their own) sees no such docpack.
    let other = submit(url).await;
    let (status, _) = get(&docpack, Some(&other.token)).await;
    assert_eq!(status, 404);
    let (status, _) = post(&format!("{docpack}/share"), &other.token, json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{url}/api/docpacks/sha256:0000"), Some(owner)).await;
    assert_eq!(status, 404);

    let (status, shared) = post(&format!("{docpack}/share"), owner, json!({})).await;
    assert_eq!(status, 200);
    let link = shared["url"].as_str().unwrap();
    assert!(link.starts_with(&format!("{url}/p/")), "{link}");
    let (status, bytes) = get(link, None).await;
    assert_eq!(status, 200, "a share link needs no credentials");
    assert_eq!(doctown_core::docpack::read(&bytes).unwrap().id, docpack_id);
    let (status, _) = get(&format!("{url}/p/{}", "0".repeat(64)), None).await;
    assert_eq!(status, 404);
    // Revoked, the link opens nothing; sharing again makes a new one.
    let revoked = reqwest::Client::new()
        .delete(format!("{docpack}/share"))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let (status, _) = get(link, None).await;
    assert_eq!(status, 404, "a revoked share link is refused");
    let (_, again) = post(&format!("{docpack}/share"), owner, json!({})).await;
    assert_ne!(again["url"].as_str(), Some(link));

    let (status, signed) = post(
        &format!("{docpack}/link"),
        owner,
        json!({"expires_in": 600}),
    )
    .await;
    assert_eq!(status, 200);
    let link = signed["url"].as_str().unwrap();
    let (status, _) = get(link, None).await;
    assert_eq!(status, 200, "a signed link needs no credentials");
    let forged = link.replace("expires=", "expires=9");
    let (status, body) = get(&forged, None).await;
    assert_eq!((status, code(&body).as_str()), (403, "bad_signature"));
    let (status, short) = post(&format!("{docpack}/link"), owner, json!({"expires_in": 1})).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = get(short["url"].as_str().unwrap(), None).await;
    assert_eq!((status, code(&body).as_str()), (403, "link_expired"));
    let (status, body) = post(&format!("{docpack}/link"), owner, json!({"expires_in": 0})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
}

/// A job is its owner's: its status, its steering and its events are refused to anyone else.
async fn check_job_access(url: &str, job: &Submitted) {
    let other = submit(url).await;
    let stranger = Submitted {
        id: job.id.clone(),
        token: other.token.clone(),
    };
    let as_stranger = reqwest::Client::new()
        .get(format!("{url}/api/jobs/{}", job.id))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(as_stranger.status(), 404, "another owner sees no such job");
    let anonymous = reqwest::get(format!("{url}/api/jobs/{}", job.id))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    for action in ["approve", "cancel", "ticket"] {
        let refused = reqwest::Client::new()
            .post(format!("{url}/api/jobs/{}/{action}", job.id))
            .bearer_auth(&stranger.token)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 404, "{action} by another owner");
    }
    let ws = format!(
        "{}/api/jobs/{}/events?since=0",
        url.replacen("http", "ws", 1),
        job.id
    );
    let refused = tokio_tungstenite::connect_async(ws.clone()).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 401),
        "the event socket without credentials: {refused:?}"
    );
    // The owner's ticket opens it (as a browser does), a forged one does not.
    let ticket: Value = reqwest::Client::new()
        .post(format!("{url}/api/jobs/{}/ticket", job.id))
        .bearer_auth(&job.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let with_ticket = format!(
        "{ws}&expires={}&signature={}",
        ticket["expires"],
        ticket["signature"].as_str().unwrap()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(with_ticket.clone())
        .await
        .unwrap();
    assert_eq!(next_event(&mut socket).await["seq"], 0);
    let forged = with_ticket.replace("signature=", "signature=00");
    let refused = tokio_tungstenite::connect_async(forged).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 403),
        "a forged ticket: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_mid_ingest_and_again_at_approval_finishes_with_the_same_docpack() {
    let stack = stack().await;
    // Small steps: the fixture takes several, and the kill lands between them.
    let small_steps = [("INGEST_STEP_BYTES", "600")];
    let mut wrangler = stack.wrangler(&small_steps).await;
    let job = submit(&wrangler.url).await;
    let mut socket = listen(&wrangler.url, &job, 0).await;
    let mut events = Vec::new();
    events_until(&mut socket, "embedding.batch_completed.v1", &mut events).await;
    wrangler.kill();
    let seen = events.len() as u64;
    assert!(
        !events.iter().any(|e| e["event"] == "ingest.completed.v1"),
        "killed during ingest"
    );

    // Again once assembled, while the job waits for approval: generation after the restart
    // assembles again, and must get the same result.
    let mut wrangler = stack.wrangler(&small_steps).await;
    let resumed = status(&wrangler.url, &job).await;
    assert_ne!(resumed["phase"], "fetching", "{resumed}");
    let mut socket = listen(&wrangler.url, &job, seen).await;
    events_until(&mut socket, "assembly.completed.v1", &mut events).await;
    wrangler.kill();
    let seen = events.len() as u64;

    let wrangler = stack.wrangler(&small_steps).await;
    let url = wrangler.url.clone();
    let resumed = status(&url, &job).await;
    assert_eq!(resumed["phase"], "awaiting_approval", "{resumed}");
    let mut socket = listen(&url, &job, seen).await;
    approve_and_finish(&url, &job, &mut socket, &mut events).await;
    assert_eq!(
        seqs(&events),
        (0..events.len() as u64).collect::<Vec<_>>(),
        "no event lost or repeated across the restart"
    );
    let done = &events.last().unwrap()["payload"];
    let docpack_id = done["docpack_id"].as_str().unwrap();
    let bytes = download(&url, docpack_id, &job.token).await;
    assert_eq!(doctown_core::docpack::read(&bytes).unwrap().id, docpack_id);
    assert_eq!(docpack_id, stack.cli_docpack_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_while_fetching_fetches_again_and_packs_the_same_docpack() {
    use std::sync::atomic::Ordering;
    // The first download never answers: the runtime is killed while the fetch waits on it.
    let stack = stack_hanging(1).await;
    let mut wrangler = stack.wrangler(&[]).await;
    let job = submit(&wrangler.url).await;
    let started = std::time::Instant::now();
    while stack.downloads.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no download asked for"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fetching = status(&wrangler.url, &job).await;
    assert_eq!(fetching["phase"], "fetching", "{fetching}");
    wrangler.kill();

    // The watchdog alarm runs the fetch again after the restart (the job may be past it by
    // the time anyone asks).
    let wrangler = stack.wrangler(&[]).await;
    let url = wrangler.url.clone();
    let mut socket = listen(&url, &job, 0).await;
    let mut events = Vec::new();
    approve_and_finish(&url, &job, &mut socket, &mut events).await;
    assert_eq!(
        stack.downloads.load(Ordering::SeqCst),
        2,
        "the fetch is asked again after the restart"
    );
    assert_eq!(
        seqs(&events),
        (0..events.len() as u64).collect::<Vec<_>>(),
        "no event lost or repeated across the restart"
    );
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "ok", "{done}");
    let docpack_id = done["docpack_id"].as_str().unwrap();
    assert_eq!(docpack_id, stack.cli_docpack_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_answers_429_5xx_bad_bodies_and_hangs_is_retried_at_the_edge() {
    use common::openai::{serve, MODEL};
    let stack = stack().await;
    // In turn: 429 with Retry-After, 500, a body that is not JSON, a slow reply (2 s), and a
    // reply that never comes, which the Worker gives up at LLM_TIMEOUT_SECS and asks again.
    let (addr, seen) = serve(true);
    let llm_url = format!("http://{addr}/v1");
    let mut vars = llm_vars(&llm_url, "64").to_vec();
    vars.push(("LLM_TIMEOUT_SECS", "4"));
    let wrangler = stack.wrangler(&vars).await;
    let url = wrangler.url.clone();
    let (job, mut socket, mut events) = submit_and_approve(&url).await;
    events_until(&mut socket, "job.completed.v1", &mut events).await;
    {
        let seen = seen.lock().unwrap();
        assert!(seen.hung, "the hanging request was made");
        assert_eq!(seen.unauthorized, 0);
    }
    let generated = &events[position(&events, "generation.completed.v1")]["payload"];
    assert_eq!(generated["status"], "ok", "{generated}");
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "ok", "{done}");
    let edge = doctown_core::docpack::read(
        &download(&url, done["docpack_id"].as_str().unwrap(), &job.token).await,
    )
    .unwrap();
    // Every text is the model's: each fault cost a retry, not a text.
    assert_eq!(edge.manifest.verbalizer, MODEL);
    assert!(edge.nodes.iter().all(|n| n.doc.verbalizer == MODEL));
    assert!(edge
        .modules
        .modules
        .iter()
        .all(|m| m.overview.verbalizer == MODEL));
    assert_eq!(edge.modules.architecture.verbalizer, MODEL);
}

/// The fixture file that defines `parse_args`.
const PARSE_ARGS_FILE: &str = "inventory/cli.py";

/// gpu-service behind a proxy that answers 503 to the job's first request, and never answers a
/// batch holding `parse_args`'s chunk (a stuck service).
async fn flaky_gpu_service(gpu: String) -> String {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let first = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = axum::Router::new().route(
        "/embed/batch",
        axum::routing::post(move |body: String| {
            let (gpu, first) = (gpu.clone(), first.clone());
            async move {
                if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    let error = json!({"error": "busy", "code": "queue_full"}).to_string();
                    return (StatusCode::SERVICE_UNAVAILABLE, error).into_response();
                }
                if body.contains("def parse_args") {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let reply = reqwest::Client::new()
                    .post(format!("{gpu}/embed/batch"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (StatusCode::OK, reply.text().await.unwrap()).into_response()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_service_never_answers_is_given_up_and_the_job_ends_partial() {
    let mut stack = stack().await;
    stack.gpu = flaky_gpu_service(stack.gpu.clone()).await;
    // Small steps: a batch per file or two, so one refusal does not take every chunk along; a
    // batch without a reply in 2 s is given up on and retried.
    let wrangler = stack
        .wrangler(&[
            ("INGEST_STEP_BYTES", "600"),
            ("GPU_SERVICE_TIMEOUT_SECS", "2"),
        ])
        .await;
    let url = wrangler.url.clone();
    let (job, events) = submit_and_finish(&url).await;

    let batches: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "embedding.batch_completed.v1")
        .map(|e| &e["payload"])
        .collect();
    let failed: Vec<(&str, u64)> = batches
        .iter()
        .filter(|b| b["status"] == "failed")
        .map(|b| {
            (
                b["batch_id"].as_str().unwrap(),
                b["attempt"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        failed.iter().any(|(_, attempt)| *attempt == 3),
        "a batch tried three times: {failed:?}"
    );
    assert!(
        batches
            .iter()
            .any(|b| b["status"] == "ok" && b["attempt"].as_u64() > Some(1)),
        "the first refusal was retried and went through"
    );
    let embedded = &events[position(&events, "embedding.completed.v1")]["payload"];
    assert_eq!(embedded["status"], "partial");
    let skipped = embedded["skipped_chunks"].as_array().unwrap();
    assert!(!skipped.is_empty());
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "partial", "{done}");
    assert!(
        done["skipped_files"]
            .as_array()
            .unwrap()
            .contains(&json!(PARSE_ARGS_FILE)),
        "the file whose chunks were given up is listed: {done}"
    );
    let docpack_id = done["docpack_id"].as_str().unwrap();
    let docpack =
        doctown_core::docpack::read(&download(&url, docpack_id, &job.token).await).unwrap();
    assert_eq!(
        serde_json::to_value(docpack.manifest.status).unwrap(),
        "partial"
    );
}

/// The Worker's settings for the OpenAI stand-in at `llm_url`, `per_step` requests a step.
fn llm_vars<'a>(llm_url: &'a str, per_step: &'a str) -> [(&'static str, &'a str); 4] {
    use common::openai::{KEY, MODEL};
    [
        ("LLM_BASE_URL", llm_url),
        ("LLM_MODEL", MODEL),
        ("LLM_API_KEY", KEY),
        ("LLM_REQUESTS_PER_STEP", per_step),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_writes_the_texts_in_steps_and_a_restart_pays_for_no_text_twice() {
    use common::openai::{serve_with, Seen, KEY, MODEL};
    let stack = stack().await;
    // Slow replies, so the kill lands among the generation steps.
    let (addr, seen) = serve_with(Seen {
        delay: Duration::from_millis(300),
        ..Seen::default()
    });
    let llm_url = format!("http://{addr}/v1");
    // A step per request: generation takes many steps.
    let vars = llm_vars(&llm_url, "1");
    let mut wrangler = stack.wrangler(&vars).await;
    let job = submit(&wrangler.url).await;
    let mut socket = listen(&wrangler.url, &job, 0).await;
    let mut events = Vec::new();
    events_until(&mut socket, "assembly.completed.v1", &mut events).await;
    let awaiting = status(&wrangler.url, &job).await;
    assert_eq!(awaiting["phase"], "awaiting_approval", "{awaiting}");
    let estimate = &awaiting["estimate"];
    assert_eq!(estimate["verbalizer"], MODEL);
    let requests = estimate["requests"].as_u64().unwrap();
    assert!(requests > 2, "{estimate}");
    assert!(estimate["usd"].as_f64().unwrap() > 0.0, "{estimate}");
    assert!(estimate["most_usd"].as_f64() >= estimate["usd"].as_f64());
    assert_eq!(
        seen.lock().unwrap().requests,
        0,
        "nothing is sent before approval"
    );

    approve(&wrangler.url, &job).await;
    events_until(&mut socket, "generation.symbol_documented.v1", &mut events).await;
    wrangler.kill();
    let before_kill = events.len() as u64;

    let wrangler = stack.wrangler(&vars).await;
    let url = wrangler.url.clone();
    let resumed = status(&url, &job).await;
    assert_eq!(resumed["phase"], "generating", "{resumed}");
    assert!(resumed["texts"].as_u64() > Some(0), "texts kept: {resumed}");
    let mut socket = listen(&url, &job, before_kill).await;
    events_until(&mut socket, "job.completed.v1", &mut events).await;
    assert_eq!(
        seqs(&events),
        (0..events.len() as u64).collect::<Vec<_>>(),
        "no event lost or repeated across the restart"
    );
    let documented: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "generation.symbol_documented.v1")
        .collect();
    let ids: std::collections::BTreeSet<&str> = documented
        .iter()
        .map(|e| e["payload"]["symbol_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), documented.len(), "each symbol documented once");
    assert!(documented
        .iter()
        .all(|e| e["payload"]["verbalizer"] == MODEL));
    // Only the request in flight at the kill may have been paid for twice.
    let billed = seen.lock().unwrap().requests as u64;
    assert!(
        (requests..=requests + 1).contains(&billed),
        "{billed} requests billed for an estimate of {requests}"
    );
    let finished = status(&url, &job).await;
    assert!(
        finished["steps"].as_u64().unwrap() >= 3 + requests,
        "fetch, ingest, assembly, and a generation step per request: {finished}"
    );
    let generated = &events[position(&events, "generation.completed.v1")]["payload"];
    assert_eq!(generated["status"], "ok", "{generated}");
    assert!(generated["cost_usd"].as_f64() > Some(0.0));
    assert_eq!(finished["spent_usd"], generated["cost_usd"], "{finished}");

    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "ok", "{done}");
    let docpack_id = done["docpack_id"].as_str().unwrap();
    let edge = doctown_core::docpack::read(&download(&url, docpack_id, &job.token).await).unwrap();
    assert_eq!(edge.manifest.verbalizer, MODEL);
    assert_eq!(edge.nodes.len(), ids.len());
    // The CLI with the same model writes the same texts (its cost record counts tokens with
    // tiktoken, the edge's by length, so the manifests differ there).
    let cli = stack.cli_docpack(&[
        "--llm-url",
        &llm_url,
        "--llm-model",
        MODEL,
        "--llm-api-key",
        KEY,
        "--yes",
    ]);
    let texts = |d: &doctown_core::docpack::Docpack| -> Vec<(String, String, String)> {
        d.nodes
            .iter()
            .map(|n| (n.id.clone(), n.doc.verbalizer.clone(), n.doc.text.clone()))
            .collect()
    };
    assert_eq!(texts(&edge), texts(&cli));
    assert_eq!(edge.modules, cli.modules);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_asked_for_mid_step_outlives_a_restart_and_stops_the_job() {
    use common::openai::{serve_with, Seen};
    let stack = stack().await;
    // A generation step waits two seconds on its requests: the cancel comes during one.
    let (addr, seen) = serve_with(Seen {
        delay: Duration::from_secs(2),
        ..Seen::default()
    });
    let llm_url = format!("http://{addr}/v1");
    let vars = llm_vars(&llm_url, "2");
    let mut wrangler = stack.wrangler(&vars).await;
    let url = wrangler.url.clone();
    let (job, _socket, _events) = submit_and_approve(&url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cancel = reqwest::Client::new()
        .post(format!("{url}/api/jobs/{}/cancel", job.id))
        .bearer_auth(&job.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cancel.status(),
        202,
        "the cancel waits for the running step"
    );
    // The runtime dies before the step ends; the cancel was kept.
    wrangler.kill();

    let wrangler = stack.wrangler(&vars).await;
    let url = wrangler.url.clone();
    status(&url, &job).await;
    let mut socket = listen(&url, &job, 0).await;
    let mut events = Vec::new();
    events_until(&mut socket, "job.completed.v1", &mut events).await;
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["reason"], "cancelled by the user", "{done}");
    let cancelled = status(&url, &job).await;
    assert_eq!(cancelled["phase"], "cancelled", "{cancelled}");
    assert!(
        !events.iter().any(|e| e["event"] == "pack.completed.v1"),
        "nothing was packed"
    );
    // Only the step that was running when the cancel came sent requests.
    assert!(seen.lock().unwrap().requests <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_website_submits_watches_approves_explores_and_shares_in_chromium() {
    let stack = stack().await;
    let wrangler = stack.wrangler(&[]).await;
    let url = wrangler.url.clone();
    tokio::task::spawn_blocking(move || common::browser_checks("stack", &url))
        .await
        .unwrap();
}

/// gpu-service that dies after answering its first `serve` batches: it stops listening, so
/// every later request finds nothing there, as after a crash.
async fn dying_gpu_service(gpu: String, serve: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let death = std::sync::Arc::new(tokio::sync::Notify::new());
    let dies = death.clone();
    let app = axum::Router::new().route(
        "/embed/batch",
        axum::routing::post(move |body: String| {
            let (gpu, served, death) = (gpu.clone(), served.clone(), death.clone());
            async move {
                let reply = reqwest::Client::new()
                    .post(format!("{gpu}/embed/batch"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == serve {
                    death.notify_one();
                }
                reply
            }
        }),
    );
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { dies.notified().await })
            .await
            .unwrap()
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gpu_service_that_dies_mid_job_leaves_the_job_partial_not_stuck() {
    let mut stack = stack().await;
    stack.gpu = dying_gpu_service(stack.gpu.clone(), 2).await;
    let wrangler = stack
        .wrangler(&[
            ("INGEST_STEP_BYTES", "600"),
            ("GPU_SERVICE_TIMEOUT_SECS", "1"),
        ])
        .await;
    let url = wrangler.url.clone();
    let (job, events) = submit_and_finish(&url).await;
    let embedded = &events[position(&events, "embedding.completed.v1")]["payload"];
    assert_eq!(embedded["status"], "partial", "{embedded}");
    assert!(
        embedded["vectors"].as_u64() > Some(0),
        "the batches before it died were kept"
    );
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "partial", "{done}");
    assert!(!done["skipped_files"].as_array().unwrap().is_empty());
    let docpack_id = done["docpack_id"].as_str().unwrap();
    let docpack =
        doctown_core::docpack::read(&download(&url, docpack_id, &job.token).await).unwrap();
    assert_eq!(
        serde_json::to_value(docpack.manifest.status).unwrap(),
        "partial"
    );
}

/// gpu-service that takes every batch and never answers; counts the batches.
async fn hanging_gpu_service() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let batches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = batches.clone();
    let app = axum::Router::new().route(
        "/embed/batch",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::future::pending::<String>().await
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_the_runtime_keeps_dying_in_fails_the_job_instead_of_looping() {
    let mut stack = stack().await;
    let (gpu, batches) = hanging_gpu_service().await;
    stack.gpu = gpu;
    // A batch may wait long: the step is still running each time the runtime is killed.
    let vars = [("GPU_SERVICE_TIMEOUT_SECS", "600")];
    let mut wrangler = stack.wrangler(&vars).await;
    let job = submit(&wrangler.url).await;
    // The ingest step starts, sends its first batch, and the runtime dies: four times.
    for start in 1..=4 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while batches.load(std::sync::atomic::Ordering::SeqCst) < start {
            assert!(
                Instant::now() < deadline,
                "start {start} never sent its batch"
            );
            // Asking for the status starts a job whose alarm is gone.
            status(&wrangler.url, &job).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        wrangler.kill();
        wrangler = stack.wrangler(&vars).await;
    }
    // The fifth start fails the job with the reason.
    let mut socket = listen(&wrangler.url, &job, 0).await;
    let mut events = Vec::new();
    events_until(&mut socket, "job.completed.v1", &mut events).await;
    let done = &events.last().unwrap()["payload"];
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["reason"]
            .as_str()
            .unwrap()
            .contains("started 4 times and never ended"),
        "{done}"
    );
    assert_eq!(status(&wrangler.url, &job).await["phase"], "failed");
    assert_eq!(batches.load(std::sync::atomic::Ordering::SeqCst), 4);
}
