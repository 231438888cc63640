//! The metadata index in D1 (schema: `edge/migrations`): users, repos, jobs, docpacks.

use doctown_core::job::{Checkpoint, DocpackRef};
use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::D1Database;

use crate::access;

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn number(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

fn optional(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// The user a token belongs to.
pub async fn user(db: &D1Database, token: &str) -> worker::Result<Option<String>> {
    let row: Option<Id> = db
        .prepare("SELECT id FROM users WHERE token_sha256 = ?1")
        .bind(&[text(&access::token_hash(token))])?
        .first(None)
        .await?;
    Ok(row.map(|r| r.id))
}

/// A new (anonymous) user and the token that names them.
pub async fn new_user(db: &D1Database, now_ms: u64) -> worker::Result<(String, String)> {
    let id = access::new_token()?[..32].to_owned();
    let token = access::new_token()?;
    db.prepare("INSERT INTO users (id, token_sha256, created_at) VALUES (?1, ?2, ?3)")
        .bind(&[text(&id), text(&access::token_hash(&token)), number(now_ms)])?
        .run()
        .await?;
    Ok((id, token))
}

/// Records a submitted job (and its repository, once).
pub async fn record_job(
    db: &D1Database,
    checkpoint: &Checkpoint,
    user_id: &str,
    repo: &str,
    now_ms: u64,
) -> worker::Result<()> {
    let statements = vec![
        db.prepare("INSERT OR IGNORE INTO repos (url, created_at) VALUES (?1, ?2)")
            .bind(&[text(repo), number(now_ms)])?,
        db.prepare(
            "INSERT INTO jobs (id, user_id, repo_id, git_ref, phase, created_at, updated_at)
             SELECT ?1, ?2, id, ?3, ?4, ?5, ?5 FROM repos WHERE url = ?6",
        )
        .bind(&[
            text(&checkpoint.job_id),
            text(user_id),
            optional(checkpoint.request.git_ref.as_deref()),
            text(&phase_name(checkpoint)),
            number(now_ms),
            text(repo),
        ])?,
    ];
    db.batch(statements).await?;
    Ok(())
}

fn phase_name(checkpoint: &Checkpoint) -> String {
    serde_json::to_value(checkpoint.phase)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The job's phase and outcome as they are now; with its docpack, once there is one.
pub async fn update_job(
    db: &D1Database,
    checkpoint: &Checkpoint,
    user_id: &str,
    now_ms: u64,
) -> worker::Result<()> {
    let status = checkpoint
        .status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_owned));
    let docpack = checkpoint.docpack.as_ref();
    let mut statements = vec![db
        .prepare(
            "UPDATE jobs SET phase = ?2, status = ?3, docpack_id = ?4, updated_at = ?5 WHERE id = ?1",
        )
        .bind(&[
            text(&checkpoint.job_id),
            text(&phase_name(checkpoint)),
            optional(status.as_deref()),
            optional(docpack.map(|d| d.id.as_str())),
            number(now_ms),
        ])?];
    if let Some(DocpackRef { id, sha256, bytes }) = docpack {
        let commit = checkpoint.source.as_ref().and_then(|s| s.commit.as_deref());
        statements.push(
            db.prepare(
                "INSERT OR IGNORE INTO docpacks (id, user_id, job_id, repo_id, commit_sha, bytes, sha256, created_at)
                 SELECT ?1, ?2, ?3, repo_id, ?4, ?5, ?6, ?7 FROM jobs WHERE id = ?3",
            )
            .bind(&[
                text(id),
                text(user_id),
                text(&checkpoint.job_id),
                optional(commit),
                number(*bytes),
                text(sha256),
                number(now_ms),
            ])?,
        );
    }
    db.batch(statements).await?;
    Ok(())
}

/// Whether `user_id` owns `docpack_id`.
pub async fn owns(db: &D1Database, docpack_id: &str, user_id: &str) -> worker::Result<bool> {
    let row: Option<Id> = db
        .prepare("SELECT id FROM docpacks WHERE id = ?1 AND user_id = ?2")
        .bind(&[text(docpack_id), text(user_id)])?
        .first(None)
        .await?;
    Ok(row.is_some())
}

/// The docpack's share token, made now unless it has one.
pub async fn share(
    db: &D1Database,
    docpack_id: &str,
    user_id: &str,
) -> worker::Result<Option<String>> {
    db.prepare(
        "UPDATE docpacks SET share_token = ?3 WHERE id = ?1 AND user_id = ?2 AND share_token IS NULL",
    )
    .bind(&[text(docpack_id), text(user_id), text(&access::new_token()?)])?
    .run()
    .await?;
    #[derive(Deserialize)]
    struct Row {
        share_token: Option<String>,
    }
    let row: Option<Row> = db
        .prepare("SELECT share_token FROM docpacks WHERE id = ?1 AND user_id = ?2")
        .bind(&[text(docpack_id), text(user_id)])?
        .first(None)
        .await?;
    Ok(row.and_then(|r| r.share_token))
}

/// The docpack a share token opens.
pub async fn shared(db: &D1Database, token: &str) -> worker::Result<Option<String>> {
    let row: Option<Id> = db
        .prepare("SELECT id FROM docpacks WHERE share_token = ?1")
        .bind(&[text(token)])?
        .first(None)
        .await?;
    Ok(row.map(|r| r.id))
}

/// A user's jobs, newest first, with their repositories and docpacks.
#[derive(Debug, Serialize, Deserialize)]
pub struct LibraryEntry {
    pub job_id: String,
    pub repo: String,
    #[serde(rename(serialize = "ref"))]
    pub git_ref: Option<String>,
    pub phase: String,
    pub status: Option<String>,
    pub docpack_id: Option<String>,
    pub created_at: u64,
}

/// At most this many of a user's jobs are listed: a page of a library, not an export.
const LIBRARY_ROWS: u32 = 500;

pub async fn library(db: &D1Database, user_id: &str) -> worker::Result<Vec<LibraryEntry>> {
    db.prepare(
        "SELECT jobs.id AS job_id, repos.url AS repo, jobs.git_ref AS git_ref, jobs.phase AS phase,
                jobs.status AS status, jobs.docpack_id AS docpack_id, jobs.created_at AS created_at
         FROM jobs JOIN repos ON repos.id = jobs.repo_id
         WHERE jobs.user_id = ?1 ORDER BY jobs.created_at DESC, jobs.id LIMIT ?2",
    )
    .bind(&[text(user_id), number(u64::from(LIBRARY_ROWS))])?
    .all()
    .await?
    .results()
}

/// The repository URL and commit a docpack was made from.
pub async fn origin(db: &D1Database, docpack_id: &str) -> worker::Result<Option<(String, String)>> {
    #[derive(Deserialize)]
    struct Row {
        url: String,
        commit_sha: Option<String>,
    }
    let row: Option<Row> = db
        .prepare(
            "SELECT repos.url AS url, docpacks.commit_sha AS commit_sha FROM docpacks
             JOIN repos ON repos.id = docpacks.repo_id WHERE docpacks.id = ?1 LIMIT 1",
        )
        .bind(&[text(docpack_id)])?
        .first(None)
        .await?;
    Ok(row.and_then(|r| Some((r.url, r.commit_sha?))))
}

/// Whether `user_id` submitted `job_id`.
pub async fn submitted(db: &D1Database, job_id: &str, user_id: &str) -> worker::Result<bool> {
    let row: Option<Id> = db
        .prepare("SELECT id FROM jobs WHERE id = ?1 AND user_id = ?2")
        .bind(&[text(job_id), text(user_id)])?
        .first(None)
        .await?;
    Ok(row.is_some())
}

/// Revokes the docpack's share link (a new share makes a new token).
pub async fn unshare(db: &D1Database, docpack_id: &str, user_id: &str) -> worker::Result<()> {
    db.prepare("UPDATE docpacks SET share_token = NULL WHERE id = ?1 AND user_id = ?2")
        .bind(&[text(docpack_id), text(user_id)])?
        .run()
        .await?;
    Ok(())
}
