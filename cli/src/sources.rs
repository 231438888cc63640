//! Reading a repository into memory: a directory, an archive, a git repository (path or URL) at
//! a ref, or a GitHub URL. The filesystem, `git` and HTTP live here; everything decided about
//! the bytes (skips, limits, archive safety) is the core's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use doctown_core::archive;
use doctown_core::github::{self, GitHubRepo, HttpClient, HttpRequest, HttpResponse};
use doctown_core::policy::{self, IgnoreRules, Limits, Skip, SkipReason};
use doctown_core::source::{Entry, Snapshot, SourceInfo, SourceKind};

/// Connecting to GitHub (or a git host) takes well under this on any working network.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A whole archive download: a large repository's tarball at a slow but working link.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// How to reach a repository, and with which credentials.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub git_ref: Option<String>,
    pub github_token: Option<String>,
    pub github_api_url: String,
    pub limits: Limits,
}

impl Default for SourceOptions {
    /// The working tree, public GitHub, the default limits.
    fn default() -> Self {
        SourceOptions {
            git_ref: None,
            github_token: None,
            github_api_url: doctown_core::github::DEFAULT_API_BASE.to_owned(),
            limits: Limits::default(),
        }
    }
}

/// Reads `source` into a snapshot.
pub async fn load(source: &str, options: &SourceOptions) -> Result<Snapshot> {
    if let Some(mut repo) = GitHubRepo::parse(source) {
        if options.git_ref.is_some() {
            repo.git_ref.clone_from(&options.git_ref);
        }
        return load_github(&repo, options).await;
    }
    if source.starts_with("https://github.com/") || source.starts_with("http://github.com/") {
        bail!("`{source}` is not a GitHub repository URL: expected https://github.com/OWNER/REPO or https://github.com/OWNER/REPO/tree/REF");
    }
    if looks_like_git_url(source) {
        if let Some(host) = link_local_host(source) {
            bail!("refused `{source}`: {host} is a link-local address, where cloud metadata services answer, not a git server; give the repository's own URL");
        }
        return load_git_url(source, options);
    }
    let path = Path::new(source);
    let meta = fs::metadata(path).with_context(|| {
        format!("cannot read `{source}`: give an existing directory, a .zip or .tar.gz archive, a git repository, or a GitHub URL")
    })?;
    if meta.is_dir() {
        if let Some(git_ref) = &options.git_ref {
            return load_git_repo(path, source, git_ref, SourceKind::Git, &options.limits);
        }
        return load_directory(path, source, &options.limits);
    }
    // An archive is never larger than what it may unpack to.
    if meta.len() > options.limits.max_unpacked_bytes {
        bail!(
            "`{source}` is {} bytes, over the {}-byte limit of an archive (MAX_UNPACKED_BYTES); document a smaller part of the repository",
            meta.len(),
            options.limits.max_unpacked_bytes
        );
    }
    let bytes = fs::read(path).with_context(|| format!("cannot read `{source}`"))?;
    let unpacked =
        archive::unpack(&bytes, &options.limits).map_err(|e| anyhow!("{source}: {e}"))?;
    Ok(Snapshot {
        source: SourceInfo {
            kind: SourceKind::Archive,
            location: source.to_owned(),
            git_ref: None,
            commit: unpacked.commit,
        },
        entries: unpacked.entries,
    })
}

/// The host of a URL when it is a link-local (or unspecified) IP address: nothing a repository is
/// served from, and where a cloud machine's metadata service (and its credentials) answers.
fn link_local_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let ip: std::net::IpAddr = bare.parse().ok()?;
    let refused = match ip {
        std::net::IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified(),
        std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.is_unspecified(),
    };
    refused.then(|| bare.to_owned())
}

fn looks_like_git_url(source: &str) -> bool {
    ["http://", "https://", "git://", "ssh://", "file://"]
        .iter()
        .any(|scheme| source.starts_with(scheme))
        || (source.starts_with("git@") && source.contains(':'))
}

/// Walks a directory: entries sorted, links and pruned directories recorded as skipped, files
/// over the size limit skipped before they are read.
pub fn load_directory(root: &Path, location: &str, limits: &Limits) -> Result<Snapshot> {
    let mut entries = Vec::new();
    let mut rules = IgnoreRules::default();
    walk(root, "", limits, &mut rules, &mut entries)?;
    Ok(Snapshot {
        source: SourceInfo {
            kind: SourceKind::Directory,
            location: location.to_owned(),
            git_ref: None,
            commit: None,
        },
        entries,
    })
}

fn walk(
    dir: &Path,
    rel: &str,
    limits: &Limits,
    rules: &mut IgnoreRules,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let mut children: Vec<(String, PathBuf)> = fs::read_dir(dir)
        .with_context(|| format!("cannot list `{}`", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    children.sort();
    if let Some((_, ignore_file)) = children.iter().find(|(name, _)| name == ".gitignore") {
        let path = format!("{rel}.gitignore");
        let small = fs::metadata(ignore_file).is_ok_and(|m| m.len() <= limits.max_file_bytes);
        if let Some(text) = small
            .then(|| fs::read_to_string(ignore_file).ok())
            .flatten()
        {
            rules.add(&path, &text);
        }
    }
    for (name, full) in children {
        let path = format!("{rel}{name}");
        let Ok(meta) = fs::symlink_metadata(&full) else {
            continue;
        };
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&full)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            out.push(Entry::Skipped {
                path,
                skip: Skip::new(
                    SkipReason::Symlink,
                    format!("a link to `{target}`; links are not followed"),
                ),
            });
        } else if meta.is_dir() {
            if name == ".git" {
                continue;
            }
            let dir_path = format!("{path}/");
            if let Some(skip) = policy::skip_dir(&path).or_else(|| rules.skip(&path, true)) {
                out.push(Entry::Skipped {
                    path: dir_path,
                    skip,
                });
                continue;
            }
            if let Err(err) = walk(&full, &dir_path, limits, rules, out) {
                out.push(Entry::Skipped {
                    path: dir_path,
                    skip: unreadable(&err),
                });
            }
        } else if meta.is_file() {
            // Only source files and .gitignore rules are read; the rest is skipped by path.
            let skip = policy::skip_unread(&path).or_else(|| {
                (meta.len() > limits.max_file_bytes)
                    .then(|| policy::too_large(meta.len(), limits.max_file_bytes))
            });
            if let Some(skip) = skip {
                out.push(Entry::Skipped { path, skip });
                continue;
            }
            match fs::read(&full) {
                Ok(bytes) => out.push(Entry::File { path, bytes }),
                Err(err) => out.push(Entry::Skipped {
                    path,
                    skip: unreadable(&anyhow::Error::from(err)),
                }),
            }
        } else {
            out.push(Entry::Skipped {
                path,
                skip: Skip::new(
                    SkipReason::SpecialFile,
                    "not a regular file (a device, socket or FIFO)",
                ),
            });
        }
    }
    Ok(())
}

fn unreadable(err: &anyhow::Error) -> Skip {
    Skip::new(SkipReason::Unreadable, format!("cannot be read: {err:#}"))
}

/// A local git repository at a ref, read with `git archive` (so only committed files count).
fn load_git_repo(
    repo: &Path,
    location: &str,
    git_ref: &str,
    kind: SourceKind,
    limits: &Limits,
) -> Result<Snapshot> {
    let commit = format!("{git_ref}^{{commit}}");
    let sha = git(repo, &["rev-parse", "--verify", "--quiet", "--end-of-options", &commit])
        .map_err(|_| anyhow!("{location}: ref `{git_ref}` does not exist (list refs with `git -C {location} show-ref`)"))?;
    let sha = String::from_utf8_lossy(&sha).trim().to_owned();
    let tarball = git(repo, &["archive", "--format=tar.gz", &sha])?;
    let unpacked = archive::unpack(&tarball, limits).map_err(|e| anyhow!("{location}: {e}"))?;
    Ok(Snapshot {
        source: SourceInfo {
            kind,
            location: location.to_owned(),
            git_ref: Some(git_ref.to_owned()),
            commit: Some(sha),
        },
        entries: unpacked.entries,
    })
}

/// A remote git repository: a bare clone into a temporary directory, then as a local one.
fn load_git_url(url: &str, options: &SourceOptions) -> Result<Snapshot> {
    let tmp = tempfile::tempdir().context("cannot create a temporary directory for the clone")?;
    let dest = tmp.path().join("repo.git");
    let dest_str = dest.to_string_lossy().into_owned();
    let shallow = match &options.git_ref {
        Some(r) => vec![
            "clone", "--bare", "--quiet", "--depth", "1", "--branch", r, url, &dest_str,
        ],
        None => vec!["clone", "--bare", "--quiet", "--depth", "1", url, &dest_str],
    };
    let shown = redact(url);
    if git(tmp.path(), &shallow).is_err() {
        // A commit SHA cannot be cloned by name: fetch the whole history instead.
        let _ = fs::remove_dir_all(&dest);
        git(tmp.path(), &["clone", "--bare", "--quiet", url, &dest_str]).map_err(|e| {
            anyhow!(
                "cannot clone `{shown}`: {}",
                e.to_string().replace(url, &shown)
            )
        })?;
    }
    let git_ref = options.git_ref.as_deref().unwrap_or("HEAD");
    load_git_repo(&dest, &shown, git_ref, SourceKind::Git, &options.limits)
}

/// A URL without the user and password it may carry (`https://user:token@host/…`), for
/// events and messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .context("cannot run `git`: install git to read git repositories")?;
    if !output.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

async fn load_github(repo: &GitHubRepo, options: &SourceOptions) -> Result<Snapshot> {
    let client = ReqwestClient::new()?;
    // A compressed archive is never larger than what it unpacks to.
    let fetched = github::fetch_archive(
        &client,
        repo,
        &options.github_api_url,
        options.github_token.as_deref(),
        options.limits.max_unpacked_bytes,
    )
    .await?;
    let unpacked = archive::unpack(&fetched.archive, &options.limits)
        .map_err(|e| anyhow!("{}: {e}", repo.display()))?;
    // The edge records the same source for the same repository: docpack ids agree.
    Ok(Snapshot {
        source: doctown_core::job::source_info(repo, &fetched.commit),
        entries: unpacked.entries,
    })
}

/// The native [`HttpClient`].
struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    fn new() -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(DOWNLOAD_TIMEOUT)
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(ReqwestClient { client })
    }
}

impl HttpClient for ReqwestClient {
    async fn get(&self, request: HttpRequest, max_bytes: u64) -> Result<HttpResponse, String> {
        let mut builder = self.client.get(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > max_bytes {
                return Err(format!("the response is larger than {max_bytes} bytes"));
            }
        }
        Ok(HttpResponse { status, body })
    }
}

fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}
