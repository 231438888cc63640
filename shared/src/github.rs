//! GitHub repositories, read through GitHub's REST API: the commit endpoint resolves the ref to
//! a SHA and the tarball endpoint serves the tree at that SHA. HTTP is the host's: it passes an
//! [`HttpClient`] (reqwest natively, `fetch` at the edge).

use thiserror::Error;

/// GitHub's API, the default base URL; tests and GitHub Enterprise point elsewhere.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";

/// The commit endpoint answers 40 hex digits; anything much longer is not a SHA.
const MAX_SHA_RESPONSE_BYTES: u64 = 1024;

/// `https://github.com/OWNER/REPO[/tree/REF]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubRepo {
    pub owner: String,
    pub repo: String,
    pub git_ref: Option<String>,
}

impl GitHubRepo {
    /// Parses a GitHub repository URL; `None` if it is not one.
    pub fn parse(url: &str) -> Option<GitHubRepo> {
        let rest = url
            .strip_prefix("https://github.com/")
            .or_else(|| url.strip_prefix("http://github.com/"))
            .or_else(|| url.strip_prefix("https://www.github.com/"))?;
        let rest = rest
            .split(['?', '#'])
            .next()
            .unwrap_or(rest)
            .trim_end_matches('/');
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().filter(|s| valid_name(s))?;
        let repo = parts
            .next()
            .map(|r| r.strip_suffix(".git").unwrap_or(r))
            .filter(|s| valid_name(s))?;
        let git_ref = match parts.next() {
            None => None,
            Some(tail) => Some(
                tail.strip_prefix("tree/")
                    .filter(|r| valid_ref(r))?
                    .to_owned(),
            ),
        };
        Some(GitHubRepo {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            git_ref,
        })
    }

    pub fn display(&self) -> String {
        format!("https://github.com/{}/{}", self.owner, self.repo)
    }

    /// `GET` this with `Accept: application/vnd.github.sha` to get the commit SHA as text.
    pub fn commit_url(&self, api_base: &str) -> String {
        let git_ref = self.git_ref.as_deref().unwrap_or("HEAD");
        format!(
            "{}/repos/{}/{}/commits/{}",
            api_base.trim_end_matches('/'),
            self.owner,
            self.repo,
            encode_ref(git_ref)
        )
    }

    /// `GET` this with `Accept: application/vnd.github.raw` to get the bytes of the file at
    /// `path` as it is at `sha`.
    pub fn contents_url(&self, api_base: &str, path: &str, sha: &str) -> String {
        format!(
            "{}/repos/{}/{}/contents/{}?ref={sha}",
            api_base.trim_end_matches('/'),
            self.owner,
            self.repo,
            encode_ref(path)
        )
    }

    /// The gzipped tarball of the tree at `sha` (GitHub answers with a redirect to codeload).
    pub fn tarball_url(&self, api_base: &str, sha: &str) -> String {
        format!(
            "{}/repos/{}/{}/tarball/{}",
            api_base.trim_end_matches('/'),
            self.owner,
            self.repo,
            sha
        )
    }
}

/// A ref name git would accept (`git check-ref-format` rules, plus plain SHAs): no `..`, no
/// empty or dot-led component, none of `~^:?*[\\`, spaces or control characters, no `@{`, not
/// ending in `.lock` or `/`. This also keeps a ref from climbing out of the API path it is
/// placed in.
pub fn valid_ref(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains("..")
        && !name.contains("@{")
        && !name.ends_with(".lock")
        && name
            .split('/')
            .all(|part| !part.is_empty() && !part.starts_with('.'))
        && !name
            .chars()
            .any(|c| c.is_control() || c == ' ' || "~^:?*[\\".contains(c))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Percent-encodes a ref for a URL path segment, keeping `/` (GitHub accepts slashed refs).
fn encode_ref(git_ref: &str) -> String {
    let mut out = String::new();
    for b in git_ref.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A GET request: URL and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// A response, after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The host's HTTP client. Hosts are single-threaded per job (a Worker isolate, the CLI's
/// current-thread runtime), so the future need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    /// Performs a GET, following redirects; `Err` only when no response came (DNS, connection,
    /// timeout, a body over `max_bytes`), with a sentence saying which.
    async fn get(&self, request: HttpRequest, max_bytes: u64) -> Result<HttpResponse, String>;
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum GitHubError {
    #[error("could not reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{repo}: repository or ref `{git_ref}` not found. If the repository is private, pass a token with read access (--github-token or GITHUB_TOKEN); otherwise check the owner, name and ref")]
    NotFound { repo: String, git_ref: String },
    #[error("{repo}: GitHub refused access (HTTP {status}): the token is missing, invalid or lacks read access, or the API rate limit is used up; pass a valid token with --github-token or GITHUB_TOKEN")]
    Denied { repo: String, status: u16 },
    #[error("{repo}: GitHub answered HTTP {status} for {what}")]
    Status {
        repo: String,
        status: u16,
        what: &'static str,
    },
    #[error("`{0}` is not a valid git ref name")]
    InvalidRef(String),
    #[error("{repo}: GitHub's commit endpoint returned `{text}`, not a commit SHA")]
    BadSha { repo: String, text: String },
}

/// The tarball of a repository at a resolved commit.
#[derive(Debug)]
pub struct FetchedArchive {
    pub commit: String,
    pub archive: Vec<u8>,
}

/// Resolves the ref to a commit SHA, then downloads the tarball at that SHA, so the tree and the
/// recorded commit always agree.
pub async fn fetch_archive(
    client: &impl HttpClient,
    repo: &GitHubRepo,
    api_base: &str,
    token: Option<&str>,
    max_bytes: u64,
) -> Result<FetchedArchive, GitHubError> {
    let headers = api_headers(token);
    let git_ref = repo.git_ref.clone().unwrap_or_else(|| "HEAD".to_owned());
    if !valid_ref(&git_ref) {
        return Err(GitHubError::InvalidRef(git_ref));
    }

    let mut sha_headers = headers.clone();
    sha_headers.push(("Accept".to_owned(), "application/vnd.github.sha".to_owned()));
    let body = get(
        client,
        (repo, &git_ref, "the commit"),
        repo.commit_url(api_base),
        sha_headers,
        MAX_SHA_RESPONSE_BYTES,
    )
    .await?;
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(GitHubError::BadSha {
            repo: repo.display(),
            text: text.chars().take(80).collect(),
        });
    }

    let archive = get(
        client,
        (repo, &git_ref, "the tarball"),
        repo.tarball_url(api_base, &text),
        headers,
        max_bytes,
    )
    .await?;
    Ok(FetchedArchive {
        commit: text.to_ascii_lowercase(),
        archive,
    })
}

/// GETs `url` from GitHub, on behalf of `what` of `repo` at a ref: the body, or the error the
/// failure or the status means.
async fn get(
    client: &impl HttpClient,
    (repo, git_ref, what): (&GitHubRepo, &str, &'static str),
    url: String,
    headers: Vec<(String, String)>,
    max_bytes: u64,
) -> Result<Vec<u8>, GitHubError> {
    let response = client
        .get(
            HttpRequest {
                url: url.clone(),
                headers,
            },
            max_bytes,
        )
        .await
        .map_err(|reason| GitHubError::Unreachable { url, reason })?;
    check_status(repo, git_ref, response.status, what)?;
    Ok(response.body)
}

fn check_status(
    repo: &GitHubRepo,
    git_ref: &str,
    status: u16,
    what: &'static str,
) -> Result<(), GitHubError> {
    match status {
        200..=299 => Ok(()),
        404 | 422 => Err(GitHubError::NotFound {
            repo: repo.display(),
            git_ref: git_ref.to_owned(),
        }),
        401 | 403 | 429 => Err(GitHubError::Denied {
            repo: repo.display(),
            status,
        }),
        _ => Err(GitHubError::Status {
            repo: repo.display(),
            status,
            what,
        }),
    }
}

/// What every request to GitHub's API sends.
fn api_headers(token: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("User-Agent".to_owned(), "doctown".to_owned()),
        ("X-GitHub-Api-Version".to_owned(), "2022-11-28".to_owned()),
    ];
    if let Some(token) = token {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    headers
}

/// A file of the repository at a commit: the source of an excerpt.
pub async fn fetch_file(
    client: &impl HttpClient,
    repo: &GitHubRepo,
    api_base: &str,
    token: Option<&str>,
    (sha, path): (&str, &str),
    max_bytes: u64,
) -> Result<Vec<u8>, GitHubError> {
    if !valid_ref(sha) || !valid_path(path) {
        return Err(GitHubError::InvalidRef(format!("{sha}:{path}")));
    }
    let mut headers = api_headers(token);
    headers.push(("Accept".to_owned(), "application/vnd.github.raw".to_owned()));
    get(
        client,
        (repo, sha, "the file"),
        repo.contents_url(api_base, path, sha),
        headers,
        max_bytes,
    )
    .await
}

/// A repository-relative path that stays inside the repository.
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

/// Lines `start..=end` (1-based) of `text`, at most `max_lines` of them.
pub fn excerpt(text: &str, start: usize, end: usize, max_lines: usize) -> String {
    let start = start.max(1);
    let last = end.max(start).min(start + max_lines.max(1) - 1);
    text.lines()
        .skip(start - 1)
        .take(last + 1 - start)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn excerpts_take_the_lines_asked_for_within_the_cap_and_paths_stay_inside() {
        let text = "a\nb\nc\nd\ne";
        assert_eq!(super::excerpt(text, 2, 4, 10), "b\nc\nd");
        assert_eq!(super::excerpt(text, 2, 4, 2), "b\nc");
        assert_eq!(super::excerpt(text, 5, 9, 10), "e");
        assert!(super::valid_path("src/lib.rs"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a\\b",
            "./a",
        ] {
            assert!(!super::valid_path(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn parses_github_urls() {
        let r = GitHubRepo::parse("https://github.com/psf/requests").unwrap();
        assert_eq!(
            (r.owner.as_str(), r.repo.as_str(), r.git_ref),
            ("psf", "requests", None)
        );
        let r = GitHubRepo::parse("https://github.com/a/b.git/").unwrap();
        assert_eq!(r.repo, "b");
        let r = GitHubRepo::parse("https://github.com/a/b/tree/feature/x").unwrap();
        assert_eq!(r.git_ref.as_deref(), Some("feature/x"));
        assert_eq!(
            r.commit_url("http://127.0.0.1:9/"),
            "http://127.0.0.1:9/repos/a/b/commits/feature/x"
        );
        assert!(GitHubRepo::parse("https://github.com/a").is_none());
        assert!(GitHubRepo::parse("https://github.com/a/b/blob/main/x.rs").is_none());
        assert!(GitHubRepo::parse("https://gitlab.com/a/b").is_none());
        assert!(GitHubRepo::parse("https://github.com/../b").is_none());
        assert!(GitHubRepo::parse("https://github.com/a/b/tree/../../../../user").is_none());
        assert!(valid_ref("feature/x-1.2") && valid_ref("0123abc"));
        assert!(!valid_ref("a..b") && !valid_ref("/a") && !valid_ref("a/") && !valid_ref("a b"));
    }
}
