//! Hostile input: each case builds an input that attacks ingest (an archive that escapes its
//! root or explodes, a file too big or too strange, a grammar's worst case, a bad URL) and runs
//! `doctown ingest` on it in a child process, which must end within [`TIME_LIMIT`] and
//! [`MEMORY_LIMIT`] with the outcome the case names: a clear error, or the file skipped with its
//! reason, or the rest ingested. `docs/reliability.md` has the table of cases; a test checks it
//! names every one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// The GitHub stand-in's base URL (`common::github`), for the cases that name a GitHub URL.
static GITHUB: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// No case may take longer: the slowest (a 100,000-file tree) takes a few seconds.
const TIME_LIMIT: Duration = Duration::from_secs(120);
/// No case may hold more at its peak: far above a normal ingest (tens of MB), far below what a
/// decompression bomb or a file read whole would take.
const MEMORY_LIMIT_MB: u64 = 768;

/// What a case must end with.
enum Outcome {
    /// The command fails with a message holding this.
    Refused(&'static str),
    /// The file at this path is skipped for this reason (`ingest.file_skipped.v1`).
    Skipped(&'static str, &'static str),
    /// Ingest completes with at least this many chunks (what survived the attack).
    Ingested(u64),
}

struct Case {
    name: &'static str,
    /// Builds the input under the folder given; answers what to ingest.
    input: fn(&Path) -> String,
    outcome: Outcome,
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A folder holding one good Python file, so a case shows the rest is still ingested.
fn repo(dir: &Path) -> PathBuf {
    let root = dir.join("repo");
    write(&root.join("good.py"), "def good():\n    return 1\n");
    root
}

fn repo_with(dir: &Path, path: &str, bytes: impl AsRef<[u8]>) -> String {
    let root = repo(dir);
    write(&root.join(path), bytes);
    root.display().to_string()
}

/// A .tar.gz of raw entries (name, bytes, or a symlink target), names written unchecked.
fn tar_gz(dir: &Path, entries: &[(&str, Result<&[u8], &str>)]) -> String {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        match content {
            Ok(bytes) => {
                header.set_size(bytes.len() as u64);
                header.set_entry_type(tar::EntryType::Regular);
            }
            Err(_) => {
                header.set_size(0);
                header.set_entry_type(tar::EntryType::Symlink);
            }
        }
        header.set_mode(0o644);
        // Raw bytes: the tar crate's own setters refuse `..` and absolute names.
        let raw = header.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Err(target) = content {
            raw.linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
        header.set_cksum();
        tar.append(&header, content.as_ref().map_or(&[][..], |b| *b))
            .unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let path = dir.join("input.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    path.display().to_string()
}

fn zip(dir: &Path, entries: &[(&str, &[u8])]) -> String {
    let path = dir.join("input.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path.display().to_string()
}

/// `depth` nested openings and closings around `inner`.
fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

const GOOD: &[u8] = b"def good():\n    return 1\n";

fn cases() -> Vec<Case> {
    use Outcome::*;
    vec![
        Case {
            name: "tar entry escaping the root (../)",
            input: |d| tar_gz(d, &[("r/good.py", Ok(GOOD)), ("r/../../evil.py", Ok(GOOD))]),
            outcome: Refused("points outside the archive"),
        },
        Case {
            name: "tar entry with an absolute path",
            input: |d| tar_gz(d, &[("r/good.py", Ok(GOOD)), ("/etc/evil.py", Ok(GOOD))]),
            outcome: Refused("absolute"),
        },
        Case {
            name: "tar symlink pointing outside the tree",
            input: |d| {
                tar_gz(
                    d,
                    &[("r/good.py", Ok(GOOD)), ("r/passwd.py", Err("/etc/passwd"))],
                )
            },
            outcome: Skipped("passwd.py", "symlink"),
        },
        Case {
            name: "tar symlink climbing out with ..",
            input: |d| {
                tar_gz(
                    d,
                    &[
                        ("r/good.py", Ok(GOOD)),
                        ("r/up.py", Err("../../../etc/passwd")),
                    ],
                )
            },
            outcome: Skipped("up.py", "symlink"),
        },
        Case {
            name: "zip entry escaping the root (../)",
            input: |d| zip(d, &[("good.py", GOOD), ("../evil.py", GOOD)]),
            outcome: Refused("points outside the archive"),
        },
        Case {
            name: "zip entry with an absolute path",
            input: |d| zip(d, &[("good.py", GOOD), ("/tmp/evil.py", GOOD)]),
            outcome: Refused("absolute"),
        },
        Case {
            name: "gzip decompression bomb (1 GiB of zeros)",
            input: |d| {
                let path = d.join("bomb.tar.gz");
                let mut gz = flate2::write::GzEncoder::new(
                    std::fs::File::create(&path).unwrap(),
                    flate2::Compression::best(),
                );
                let mut header = tar::Header::new_gnu();
                header.set_path("r/zeros.py").unwrap();
                header.set_size(1 << 30);
                header.set_mode(0o644);
                header.set_cksum();
                gz.write_all(header.as_bytes()).unwrap();
                let block = vec![0u8; 1 << 20];
                for _ in 0..1024 {
                    gz.write_all(&block).unwrap();
                }
                gz.finish().unwrap();
                path.display().to_string()
            },
            outcome: Refused("expands"),
        },
        Case {
            name: "zip decompression bomb (1 GiB of zeros)",
            input: |d| {
                let path = d.join("bomb.zip");
                let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .large_file(true);
                zip.start_file("zeros.py", options).unwrap();
                let block = vec![0u8; 1 << 20];
                for _ in 0..1024 {
                    zip.write_all(&block).unwrap();
                }
                zip.finish().unwrap();
                path.display().to_string()
            },
            // Its size is known before anything is decompressed.
            outcome: Skipped("zeros.py", "too_large"),
        },
        Case {
            name: "truncated .tar.gz",
            input: |d| {
                let path = tar_gz(d, &[("r/good.py", Ok(&[b'#'; 100_000][..]))]);
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
                path
            },
            outcome: Refused("archive"),
        },
        Case {
            name: "a file named .tar.gz that is not an archive",
            input: |d| {
                let path = d.join("fake.tar.gz");
                std::fs::write(&path, "just text").unwrap();
                path.display().to_string()
            },
            outcome: Refused("archive"),
        },
        Case {
            name: "100,000-file repository",
            input: |d| {
                let root = repo(d);
                for i in 0..100_000 {
                    write(&root.join(format!("m{}/f{i}.py", i / 1000)), "x = 1\n");
                }
                root.display().to_string()
            },
            outcome: Skipped("m99/f99999.py", "file_limit"),
        },
        Case {
            name: "50 MB source file",
            input: |d| repo_with(d, "huge.py", "x = 1\n".repeat(50 << 20 >> 3)),
            outcome: Skipped("huge.py", "too_large"),
        },
        Case {
            name: "one 10 MB line",
            input: |d| repo_with(d, "line.js", "a+".repeat(5 << 20)),
            outcome: Skipped("line.js", "too_large"),
        },
        Case {
            name: "one 900 KB line (under the size limit)",
            input: |d| repo_with(d, "line.py", format!("x = {}1\n", "1+".repeat(450_000))),
            outcome: Ingested(2),
        },
        Case {
            name: "binary with a source extension",
            input: |d| repo_with(d, "blob.rs", [0x7f, b'E', b'L', b'F', 0, 0, 1, 2, 0, 0, 3]),
            outcome: Skipped("blob.rs", "binary"),
        },
        Case {
            name: "invalid UTF-8",
            input: |d| repo_with(d, "latin1.py", b"s = '\xe9t\xe9'\n"),
            outcome: Skipped("latin1.py", "not_utf8"),
        },
        Case {
            name: "UTF-16 file",
            input: |d| {
                let text: Vec<u8> = std::iter::once(0xFEFFu16)
                    .chain("def f():\n    pass\n".encode_utf16())
                    .flat_map(u16::to_le_bytes)
                    .collect();
                repo_with(d, "wide.py", text)
            },
            outcome: Skipped("wide.py", "not_utf8"),
        },
        Case {
            name: "NUL bytes in a source file",
            input: |d| repo_with(d, "nul.go", "package main\n\x00\x00func f() {}\n"),
            outcome: Skipped("nul.go", "binary"),
        },
        Case {
            name: "10,000-deep nesting (Python)",
            input: |d| {
                repo_with(
                    d,
                    "deep.py",
                    format!("x = {}\n", nested("[", "1", "]", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "10,000-deep nesting (JavaScript)",
            input: |d| {
                repo_with(
                    d,
                    "deep.js",
                    format!("const x = {};\n", nested("(", "1", ")", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "10,000-deep nesting (Rust blocks)",
            input: |d| {
                repo_with(
                    d,
                    "deep.rs",
                    format!("fn f() {}\n", nested("{", "", "}", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "10,000-deep nesting (Go)",
            input: |d| {
                repo_with(
                    d,
                    "deep.go",
                    format!("package p\n\nvar x = {}\n", nested("(", "1", ")", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "10,000-deep nesting (TypeScript generics)",
            input: |d| {
                repo_with(
                    d,
                    "deep.ts",
                    format!("type T = {};\n", nested("Array<", "number", ">", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "TSX: 10,000 nested elements",
            input: |d| {
                repo_with(
                    d,
                    "deep.tsx",
                    format!("const x = {};\n", nested("<a>", "", "</a>", 10_000)),
                )
            },
            outcome: Ingested(2),
        },
        Case {
            name: "every statement a syntax error",
            input: |d| repo_with(d, "broken.py", "def (:\n".repeat(20_000)),
            outcome: Ingested(2),
        },
        Case {
            name: "30,000 functions in one file",
            input: |d| {
                let text: String = (0..30_000)
                    .map(|i| format!("def f{i}():\n    return {i}\n"))
                    .collect();
                repo_with(d, "many.py", text)
            },
            outcome: Ingested(30_000),
        },
        Case {
            name: "empty repository",
            input: |d| {
                let root = d.join("empty");
                std::fs::create_dir_all(&root).unwrap();
                root.display().to_string()
            },
            outcome: Ingested(0),
        },
        Case {
            name: "no supported language",
            input: |d| {
                let root = d.join("docs");
                write(&root.join("README.md"), "# Hi\n");
                write(&root.join("notes.txt"), "notes\n");
                root.display().to_string()
            },
            outcome: Skipped("notes.txt", "unsupported_language"),
        },
        Case {
            name: "symlink loop in a directory",
            input: |d| {
                let root = repo(d);
                std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
                root.display().to_string()
            },
            outcome: Ingested(1),
        },
        Case {
            name: "symlink to a file outside the directory",
            input: |d| {
                let root = repo(d);
                std::os::unix::fs::symlink("/etc/passwd", root.join("passwd.py")).unwrap();
                root.display().to_string()
            },
            outcome: Skipped("passwd.py", "symlink"),
        },
        Case {
            name: "a path 100 directories deep",
            input: |d| repo_with(d, &format!("{}leaf.py", "d/".repeat(100)), GOOD),
            outcome: Ingested(2),
        },
        Case {
            name: "minified JavaScript",
            input: |d| repo_with(d, "app.min.js", "var a=1;".repeat(10_000)),
            outcome: Skipped("app.min.js", "generated"),
        },
        Case {
            name: "vendored dependencies",
            input: |d| repo_with(d, "node_modules/x/index.js", "module.exports = 1;\n"),
            outcome: Skipped("node_modules/", "vendored"),
        },
        Case {
            name: "a lock file",
            input: |d| repo_with(d, "Cargo.lock", "[[package]]\nname = \"x\"\n"),
            outcome: Skipped("Cargo.lock", "generated"),
        },
        Case {
            name: "a file .gitignore excludes",
            input: |d| {
                let root = repo_with(d, "secret.py", "TOKEN = 1\n");
                write(&Path::new(&root).join(".gitignore"), "secret.py\n");
                root
            },
            outcome: Skipped("secret.py", "gitignored"),
        },
        Case {
            name: "a git URL at a link-local address (SSRF)",
            input: |_| "http://169.254.169.254/latest/meta-data.git".to_owned(),
            outcome: Refused("link-local"),
        },
        Case {
            name: "a git URL at a link-local IPv6 address (SSRF)",
            input: |_| "http://[fe80::1]:8080/repo.git".to_owned(),
            outcome: Refused("link-local"),
        },
        Case {
            name: "a path that does not exist",
            input: |d| d.join("nowhere").display().to_string(),
            outcome: Refused("nowhere"),
        },
        Case {
            name: "a private GitHub repository without a token",
            input: |_| "https://github.com/acme/secret".to_owned(),
            outcome: Refused("If the repository is private, pass a token"),
        },
        Case {
            name: "a ref that does not exist",
            input: |_| "https://github.com/acme/widgets/tree/no-such-ref".to_owned(),
            outcome: Refused("ref `no-such-ref` not found"),
        },
        Case {
            name: "a non-GitHub URL that is no git repository",
            input: |_| "https://example.invalid/not/a/repo".to_owned(),
            outcome: Refused("cannot clone"),
        },
        Case {
            name: "malformed GitHub URL",
            input: |_| "https://github.com/".to_owned(),
            outcome: Refused("github.com"),
        },
    ]
}

/// What one run ended with.
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_mb: u64,
}

/// The child's peak resident memory so far (`VmHWM`, which only grows), in MB.
fn high_water_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Runs `doctown ingest SOURCE` in a child, killed past [`TIME_LIMIT`], its peak memory read
/// from `/proc` as it runs.
fn ingest(source: &str, dir: &Path) -> Run {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(["ingest", source])
        .env(
            "DOCTOWN_GITHUB_API_URL",
            GITHUB.get().map_or("", String::as_str),
        )
        .env_remove("GITHUB_TOKEN")
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut peak_mb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak_mb = peak_mb.max(high_water_mb(child.id()).unwrap_or(0));
        if started.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        success: status.success(),
        stdout: std::fs::read_to_string(out).unwrap_or_default(),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
        elapsed: started.elapsed(),
        peak_mb,
    }
}

/// Checks one case; `Err` says how it went wrong.
fn check(case: &Case) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let source = (case.input)(dir.path());
    let run = ingest(&source, dir.path());
    let last_error = run.stderr.lines().last().unwrap_or_default().to_owned();
    if run.elapsed >= TIME_LIMIT {
        return Err(format!("did not end within {TIME_LIMIT:?}"));
    }
    if run.peak_mb > MEMORY_LIMIT_MB {
        return Err(format!("peaked at {} MB", run.peak_mb));
    }
    let events: Vec<Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let found = match &case.outcome {
        Outcome::Refused(text) => {
            if run.success {
                return Err(format!("was not refused ({} events)", events.len()));
            }
            if !run.stderr.contains(text) {
                return Err(format!("refused without `{text}`: {}", run.stderr.trim()));
            }
            format!("refused: {last_error}")
        }
        Outcome::Skipped(path, reason) => {
            if !run.success {
                return Err(format!("failed: {}", run.stderr.trim()));
            }
            let skipped = events
                .iter()
                .find(|e| e["event"] == "ingest.file_skipped.v1" && e["payload"]["path"] == *path);
            match skipped {
                Some(e) if e["payload"]["reason"] == *reason => {
                    format!("skipped {path}: {}", e["payload"]["reason"])
                }
                Some(e) => return Err(format!("{path} skipped as {}", e["payload"]["reason"])),
                None => return Err(format!("{path} was not skipped")),
            }
        }
        Outcome::Ingested(min_chunks) => {
            if !run.success {
                return Err(format!("failed: {}", run.stderr.trim()));
            }
            let completed = events
                .iter()
                .find(|e| e["event"] == "ingest.completed.v1")
                .ok_or("no ingest.completed")?;
            let chunks = completed["payload"]["chunks"].as_u64().unwrap_or(0);
            if chunks < *min_chunks {
                return Err(format!("only {chunks} chunks"));
            }
            format!("ingested, {chunks} chunks")
        }
    };
    // A run over before the first sample of its memory was a short one.
    let peak = match run.peak_mb {
        0 => "ended before a memory sample".to_owned(),
        mb => format!("{mb} MB peak"),
    };
    Ok(format!(
        "{found} ({:.1} s, {peak})",
        run.elapsed.as_secs_f64()
    ))
}

#[test]
fn hostile_inputs_are_refused_or_defused_within_time_and_memory() {
    let (repo, _) = common::github::fixture_repo("python");
    GITHUB.get_or_init(|| common::github::serve_github(repo.path().to_owned()));
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        match check(case) {
            Ok(what) => println!("ok   {}: {what}", case.name),
            Err(why) => {
                println!("FAIL {}: {why}", case.name);
                failures.push(format!("{}: {why}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_reliability_table_lists_every_case() {
    let table = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/reliability.md"),
    )
    .unwrap();
    for case in cases() {
        assert!(
            table.contains(&format!("| {} |", case.name)),
            "docs/reliability.md does not list `{}`",
            case.name
        );
    }
}
