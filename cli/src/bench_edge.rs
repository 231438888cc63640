//! `doctown bench edge`: one repository through the edge (the Worker in workerd, one Durable
//! Object stepping the job) and through the CLI (in-process), embedding excluded: both sides
//! embed with the core's deterministic test embedder, so what is timed is fetch, ingest,
//! assembly, generation and packing. Time and peak memory side by side, the median round.
//!
//! The repository is served GitHub-style from a local server (GitHub cannot be reached from the
//! test machines): `GET /repos/acme/bench/commits/{ref}` answers the commit, and
//! `GET /repos/acme/bench/tarball/{sha}` the `git archive` tarball, as GitHub's API does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use serde_json::{json, Value};

#[derive(clap::Args, Debug)]
pub struct EdgeBench {
    /// A directory to document (copied into a git repository and served as GitHub would).
    source: PathBuf,
    /// Rounds; each runs both sides, and the median round counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// How often a child's memory and a job's status are sampled.
const SAMPLE: Duration = Duration::from_millis(20);
/// The longest one job may take before the bench gives up.
const JOB_LIMIT: Duration = Duration::from_secs(600);

/// A copy of a repository served as GitHub serves it, and the Worker in `wrangler dev` ready
/// for jobs on it: what the edge benchmarks run against.
pub(crate) struct EdgeStack {
    pub wrangler: Wrangler,
    pub github: String,
    pub files: usize,
    pub bytes: u64,
    /// The repository's copy and the Worker's state (dropped after the Worker).
    pub work: tempfile::TempDir,
}

/// Copies `source` into a scratch git repository, serves its tarball, and starts the Worker
/// with gpu-service at `gpu` (else the deterministic test embedder).
pub(crate) async fn edge_stack(source: &Path, gpu: Option<&str>) -> Result<EdgeStack> {
    let root = workspace_root()?;
    if !root.join("edge/build/index.js").exists() || !root.join("web/dist/index.html").exists() {
        bail!("the Worker or the website it serves is not built: run scripts/build-edge.sh and scripts/build-web.sh");
    }
    let work = tempfile::tempdir()?;
    let (sha, files, bytes) = git_copy(source, &work.path().join("repo"))?;
    let tarball = git(
        &work.path().join("repo"),
        &["archive", "--format=tar.gz", "--prefix=acme-bench/", "HEAD"],
    )?;
    let github = serve(sha, tarball).await?;
    let wrangler = Wrangler::start(&root, &work.path().join("state"), &github, gpu)?;
    wait_ready(&wrangler.url).await?;
    Ok(EdgeStack {
        wrangler,
        github,
        files,
        bytes,
        work,
    })
}

pub async fn run(args: EdgeBench) -> Result<()> {
    let EdgeStack {
        mut wrangler,
        github,
        files,
        bytes,
        work,
    } = edge_stack(&args.source, None).await?;
    let idle_kib = wrangler.workerd_peak_kib();

    println!(
        "doctown bench edge: {} ({files} files, {:.2} MB), embedding excluded (deterministic test vectors on both sides)",
        args.source.display(),
        bytes as f64 / 1e6
    );
    let mut rounds = Vec::new();
    for _ in 0..args.rounds.max(1) {
        // On a thread of its own: this one serves the repository meanwhile.
        let (url, dir) = (github.clone(), work.path().to_owned());
        let cli = tokio::task::spawn_blocking(move || cli_run(&url, &dir)).await??;
        let edge = edge_run(&wrangler.url).await?;
        rounds.push((edge, cli));
    }
    // Wasm memory only grows: the first job's figures are its own, later ones include them.
    let first = rounds[0].0.memory_at_approval;
    rounds.sort_by_key(|(edge, _)| edge.wall);
    let (edge, cli) = &rounds[rounds.len() / 2];
    let workerd_kib = wrangler.workerd_peak_kib();
    println!("  median of {} rounds (by the edge's time):", rounds.len());
    println!(
        "  CLI, in-process                 {:>9.1} ms   peak RSS {:>5} MiB (the whole process)",
        ms(cli.wall),
        cli.peak_kib / 1024
    );
    println!(
        "  edge, workerd (a DO per job)    {:>9.1} ms   peak RSS {:>5} MiB (workerd; {} MiB idle before the first job)",
        ms(edge.wall),
        workerd_kib / 1024,
        idle_kib / 1024
    );
    let mib = |f: fn(&EdgeRun) -> u64| {
        rounds.iter().map(|(e, _)| f(e)).max().unwrap_or(0) / (1024 * 1024)
    };
    println!(
        "    the isolate's WebAssembly memory: {} MiB at most; {} MiB by the first job's approval (the Workers limit: 128 MB per isolate)",
        mib(|e| e.memory_bytes),
        first / (1024 * 1024)
    );
    println!(
        "    of which: fetch to approval {:.1} ms in {} steps, generation and pack {:.1} ms",
        ms(edge.until_approval),
        edge.steps,
        ms(edge.wall - edge.until_approval)
    );
    println!(
        "  ratio edge / CLI time: {:.2}x; the same docpack: {}",
        edge.wall.as_secs_f64() / cli.wall.as_secs_f64(),
        if edge.docpack_id == cli.docpack_id {
            "yes"
        } else {
            "NO"
        }
    );
    wrangler.stop();
    Ok(())
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The checkout this binary was built from (where `wrangler.toml` is).
pub(crate) fn workspace_root() -> Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if here.join("wrangler.toml").exists() {
        return Ok(here);
    }
    bail!("run `doctown bench edge` from a build of the Doctown checkout (wrangler.toml not found)")
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .output()
        .context("git is needed to serve the repository")?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Copies `source` into a new git repository at `to`; its commit, file count and bytes.
pub(crate) fn git_copy(source: &Path, to: &Path) -> Result<(String, usize, u64)> {
    std::fs::create_dir_all(to)?;
    let status = Command::new("cp")
        .arg("-r")
        .arg(source.join("."))
        .arg(to)
        .status()?;
    if !status.success() {
        bail!("cannot copy {}", source.display());
    }
    let _ = std::fs::remove_dir_all(to.join(".git"));
    git(to, &["init", "-q"])?;
    git(to, &["add", "-A", "-f"])?;
    git(to, &["commit", "-q", "-m", "bench"])?;
    let sha = String::from_utf8(git(to, &["rev-parse", "HEAD"])?)?
        .trim()
        .to_owned();
    let listed = String::from_utf8(git(to, &["ls-files", "-z"])?)?;
    let files: Vec<&str> = listed.split('\0').filter(|f| !f.is_empty()).collect();
    let bytes = files
        .iter()
        .map(|f| std::fs::metadata(to.join(f)).map_or(0, |m| m.len()))
        .sum();
    Ok((sha, files.len(), bytes))
}

/// The GitHub-style server of the one repository; its base URL.
pub(crate) async fn serve(sha: String, tarball: Vec<u8>) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app =
        axum::Router::new()
            .route(
                "/repos/acme/bench/commits/{*ref}",
                get(|State((sha, _)): State<(String, Vec<u8>)>| async move { sha }),
            )
            .route(
                "/repos/acme/bench/tarball/{sha}",
                get(
                    |State((_, tarball)): State<(String, Vec<u8>)>,
                     UrlPath(_sha): UrlPath<String>| async move { tarball },
                ),
            )
            .with_state((sha, tarball));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// `wrangler dev`, in its own process group.
pub(crate) struct Wrangler {
    child: Child,
    pub(crate) url: String,
}

impl Wrangler {
    /// With `gpu_service`, embedding by it; else by the core's deterministic test embedder.
    pub(crate) fn start(
        root: &Path,
        state: &Path,
        github: &str,
        gpu_service: Option<&str>,
    ) -> Result<Wrangler> {
        let bin = root.join("edge/node_modules/.bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let wrangler = bin.join("wrangler");
        let migrate = Command::new(&wrangler)
            .current_dir(root)
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(state)
            .env("PATH", &path)
            .env("WRANGLER_SEND_METRICS", "false")
            .stdin(Stdio::null())
            .output()
            .context("wrangler is missing: run scripts/setup-edge.sh")?;
        if !migrate.status.success() {
            bail!(
                "D1 migrations: {}",
                String::from_utf8_lossy(&migrate.stdout)
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut cmd = Command::new(&wrangler);
        cmd.current_dir(root)
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .arg("--persist-to")
            .arg(state)
            .arg("--show-interactive-dev-session=false")
            .args(match gpu_service {
                Some(url) => vec!["--var".to_owned(), format!("GPU_SERVICE_URL:{url}")],
                None => ["--var", "EMBEDDER:test", "--var", "GPU_SERVICE_URL:unused"]
                    .map(str::to_owned)
                    .to_vec(),
            })
            .args(["--var", "SIGNING_KEY:a-local-bench-key"])
            .args(["--var", &format!("GITHUB_API_URL:{github}")])
            .env("PATH", &path)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Ok(Wrangler {
            child: cmd.spawn()?,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The largest peak resident memory among the workerd processes of this runtime.
    fn workerd_peak_kib(&self) -> u64 {
        let group = self.child.id().to_string();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        dir.flatten()
            .filter_map(|p| {
                std::fs::read_to_string(p.path().join("stat"))
                    .ok()
                    .map(|s| (p, s))
            })
            .filter(|(_, stat)| {
                // pid (comm) state ppid pgrp …
                let fields: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                stat.contains("(workerd)") && fields.get(2) == Some(&group.as_str())
            })
            .filter_map(|(p, _)| peak_kib(&p.path().join("status")))
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        if self.child.try_wait().is_ok_and(|s| s.is_none()) {
            self.stop();
        }
    }
}

fn peak_kib(status: &Path) -> Option<u64> {
    std::fs::read_to_string(status)
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub(crate) async fn wait_ready(url: &str) -> Result<()> {
    let started = Instant::now();
    while reqwest::get(format!("{url}/api/health")).await.is_err() {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("wrangler dev did not start within two minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

struct Run {
    wall: Duration,
    peak_kib: u64,
    docpack_id: String,
}

/// `doctown generate` as a child process, its peak memory sampled as it runs.
fn cli_run(github: &str, work: &Path) -> Result<Run> {
    let out = work.join("cli.docpack");
    let log = work.join("cli.log");
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "generate",
            "https://github.com/acme/bench",
            "--embedder",
            "test",
            "-o",
        ])
        .arg(&out)
        .env("DOCTOWN_GITHUB_API_URL", github)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let exit = loop {
        peak = peak.max(peak_kib(Path::new(&status)).unwrap_or(0));
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        std::thread::sleep(SAMPLE);
    };
    let wall = started.elapsed();
    if !exit.success() {
        bail!(
            "doctown generate failed: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let docpack = doctown_core::docpack::read(&std::fs::read(&out)?)?;
    Ok(Run {
        wall,
        peak_kib: peak,
        docpack_id: docpack.id,
    })
}

struct EdgeRun {
    wall: Duration,
    /// The isolate's WebAssembly memory after the job (its high-water mark).
    memory_bytes: u64,
    /// … and when the job waited for approval (after ingest, embedding and assembly).
    memory_at_approval: u64,
    until_approval: Duration,
    steps: u64,
    docpack_id: String,
}

/// Submits the served repository as a new owner: the job's id and the owner's token.
pub(crate) async fn submit(client: &reqwest::Client, url: &str) -> Result<(String, String)> {
    let job: Value = client
        .post(format!("{url}/api/jobs"))
        .json(&json!({"repo": "https://github.com/acme/bench"}))
        .send()
        .await?
        .json()
        .await?;
    let id = job["job_id"].as_str().context("no job id")?.to_owned();
    let token = job["token"].as_str().context("no owner token")?.to_owned();
    Ok((id, token))
}

/// One job through the Worker, approved the moment it asks; the time it waited is not counted.
async fn edge_run(url: &str) -> Result<EdgeRun> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let (id, token) = submit(&client, url).await?;
    let status = |phase: &'static str| {
        let (client, id, token) = (client.clone(), id.clone(), token.clone());
        async move {
            loop {
                let now: Value = client
                    .get(format!("{url}/api/jobs/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .json()
                    .await?;
                match now["phase"].as_str() {
                    Some(p) if p == phase => return Ok::<Value, anyhow::Error>(now),
                    Some("failed" | "cancelled") => bail!("the job ended: {}", now["reason"]),
                    _ if started.elapsed() > JOB_LIMIT => bail!("the job took too long"),
                    _ => tokio::time::sleep(SAMPLE).await,
                }
            }
        }
    };
    let awaiting = status("awaiting_approval").await?;
    let until_approval = started.elapsed();
    let approved = Instant::now();
    client
        .post(format!("{url}/api/jobs/{id}/approve"))
        .bearer_auth(&token)
        .send()
        .await?;
    let done = status("completed").await?;
    Ok(EdgeRun {
        wall: until_approval + approved.elapsed(),
        until_approval,
        steps: done["steps"].as_u64().unwrap_or(0),
        memory_bytes: done["isolate_memory_bytes"].as_u64().unwrap_or(0),
        memory_at_approval: awaiting["isolate_memory_bytes"].as_u64().unwrap_or(0),
        docpack_id: done["docpack"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}
