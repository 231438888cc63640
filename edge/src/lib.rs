//! Doctown at the edge: the HTTP API of a Cloudflare Worker in front of one `JobCoordinator`
//! Durable Object per job (see [`coordinator`]), R2 for archives and docpacks, gpu-service over
//! HTTPS for embeddings. The pipeline itself is the core's ([`doctown_core::job`]); this crate
//! only moves bytes between it and the runtime.
//!
//! ```text
//! POST /api/jobs                  {"repo": URL, "ref": REF?} → 201 the job (its `job_id`; and a
//!                                 `token` naming its owner when the request sent none)
//! GET  /api/jobs/:id              (owner) phase, progress, estimate, docpack
//! POST /api/jobs/:id/approve      (owner) agree to the estimate: generation starts
//! POST /api/jobs/:id/cancel       (owner)
//! POST /api/jobs/:id/ticket       (owner) → `{expires, signature}`, opening the event socket
//!                                 for a minute (a browser's WebSocket sends no bearer token)
//! GET  /api/jobs/:id/events       (owner, or a ticket) WebSocket: the v1 events (`?since=SEQ`
//!                                 resumes after a drop)
//! GET  /api/docpacks/:id          the docpack's bytes, for its owner (`Authorization: Bearer
//!                                 TOKEN`) or with a signed link's `?expires=…&signature=…`
//! POST /api/docpacks/:id/share    (owner) → a public link, `/p/TOKEN`
//! DELETE /api/docpacks/:id/share  (owner) revokes it
//! POST /api/docpacks/:id/link     (owner) {"expires_in": SECONDS?} → a signed link
//! GET  /p/:token                  a shared docpack, for anyone with the link (a browser asking
//!                                 for HTML gets the site's explorer, which fetches the bytes)
//! GET  /api/docpacks/:id/source   (owner) `?path=P&start=L&end=L`: lines of a file at the
//!                                 docpack's commit, from GitHub (the explorer's excerpts)
//! GET  /p/:token/source           the same for a shared docpack
//! GET  /api/library               (owner) the owner's jobs and docpacks
//! GET  /api/health
//! ```
//! Everything else is the website (`web/dist`, static assets; see `wrangler.toml`).
//! Jobs and docpacks are their owner's: anyone else is told there is no such thing. Docpacks are
//! private by default. Errors are JSON: `{"error": {"code": …, "message": …}}`.

mod access;
mod coordinator;
mod host;
mod meta;
mod store;

use doctown_core::job::JobRequest;
use serde::Deserialize;
use worker::{
    event, Context, D1Database, Date, Env, Request, Response, RouteContext, Router, Stub,
};

pub use coordinator::JobCoordinator;

/// A query parameter of `url`, decoded.
fn query_param(url: &worker::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A JSON error with a stable code and a sentence for people.
pub(crate) fn error(status: u16, code: &str, message: &str) -> worker::Result<Response> {
    Response::from_json(&serde_json::json!({"error": {"code": code, "message": message}}))
        .map(|r| r.with_status(status))
}

/// The job's Durable Object, if `id` can name one.
fn job(ctx: &RouteContext<()>) -> worker::Result<Option<Stub>> {
    let id = ctx.param("id").map(String::as_str).unwrap_or_default();
    let namespace = ctx.durable_object("JOBS")?;
    match namespace.id_from_string(id) {
        Ok(id) => id.get_stub().map(Some),
        Err(_) => Ok(None),
    }
}

/// Whether the request may see the job: its owner's token, or (for the event socket) a ticket.
async fn may_see_job(
    req: &Request,
    ctx: &RouteContext<()>,
) -> worker::Result<Result<(), Response>> {
    let id = ctx.param("id").cloned().unwrap_or_default();
    if let Some(token) = access::bearer(req) {
        let db = ctx.d1("DB")?;
        let Some(user) = meta::user(&db, &token).await? else {
            return unknown_token().map(Err);
        };
        // Someone else's job is as absent as one that does not exist.
        if !meta::submitted(&db, &id, &user).await? {
            return error(404, "not_found", "no such job").map(Err);
        }
        return Ok(Ok(()));
    }
    let url = req.url()?;
    let query = |name: &str| query_param(&url, name);
    if let (Some(expires), Some(signature), Some(key)) =
        (query("expires"), query("signature"), signing_key(ctx))
    {
        let expires: u64 = expires.parse().unwrap_or(0);
        let subject = access::events_subject(&id);
        if access::verify(&key, &subject, expires, &signature)
            && Date::now().as_millis() / 1000 < expires
        {
            return Ok(Ok(()));
        }
        return error(
            403,
            "bad_ticket",
            "this ticket is expired or not for this job: ask for a new one",
        )
        .map(Err);
    }
    error(
        401,
        "unauthorized",
        "this job is its owner's: send the owner's token (Authorization: Bearer TOKEN), or a ticket from POST /api/jobs/:id/ticket",
    )
    .map(Err)
}

/// Forwards to the job's object at `path`, for its owner, keeping the method (and a WebSocket
/// upgrade).
async fn forward(req: Request, ctx: RouteContext<()>, path: &str) -> worker::Result<Response> {
    if let Err(refused) = may_see_job(&req, &ctx).await? {
        return Ok(refused);
    }
    let Some(stub) = job(&ctx)? else {
        return error(404, "not_found", "no such job");
    };
    let mut url = req.url()?;
    url.set_path(path);
    let req = Request::new_with_init(
        url.as_str(),
        worker::RequestInit::new()
            .with_method(req.method())
            .with_headers(req.headers().clone()),
    )?;
    stub.fetch_with_request(req).await
}

async fn submit(mut req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let request: JobRequest = match req.json().await {
        Ok(r) => r,
        Err(e) => {
            return error(
                400,
                "bad_request",
                &format!("the body must be JSON like {{\"repo\": \"https://github.com/OWNER/REPO\", \"ref\": \"main\"}}: {e}"),
            )
        }
    };
    let repo = match request.repository() {
        Ok(repo) => repo,
        Err(e) => return error(400, "bad_request", &e.to_string()),
    };
    let db = ctx.d1("DB")?;
    let now = Date::now().as_millis();
    // The sender's token names them; a sender without one becomes a new owner.
    let (user_id, issued) = match access::bearer(&req) {
        Some(token) => match meta::user(&db, &token).await? {
            Some(user) => (user, None),
            None => return unknown_token(),
        },
        None => {
            let (user, token) = meta::new_user(&db, now).await?;
            (user, Some(token))
        }
    };
    let namespace = ctx.durable_object("JOBS")?;
    let id = namespace.unique_id()?;
    let job_id = id.to_string();
    let body = serde_json::to_string(&(&job_id, &request, &user_id))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(body.into()));
    let mut started = id
        .get_stub()?
        .fetch_with_request(Request::new_with_init("https://job/start", &init)?)
        .await?;
    if started.status_code() != 201 {
        return Ok(started);
    }
    let mut job: serde_json::Value = started.json().await?;
    let checkpoint = serde_json::from_value(job.clone())?;
    meta::record_job(&db, &checkpoint, &user_id, &repo.display(), now).await?;
    if let Some(token) = issued {
        job["token"] = token.into();
    }
    Response::from_json(&job).map(|r| r.with_status(201))
}

fn unknown_token() -> worker::Result<Response> {
    error(
        401,
        "unauthorized",
        "the bearer token is not known: send the token your first job returned, or none to get a new one",
    )
}

/// Serves a docpack from R2.
async fn serve_docpack(ctx: &RouteContext<()>, id: &str) -> worker::Result<Response> {
    let bucket = ctx.bucket("DOCPACKS")?;
    let Some(object) = bucket.get(coordinator::docpack_key(id)).execute().await? else {
        return not_found();
    };
    let bytes = match object.body() {
        Some(body) => body.bytes().await?,
        None => Vec::new(),
    };
    let mut response = Response::from_bytes(bytes)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "application/vnd.doctown.docpack")?;
    headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{}.docpack\"", id.replace(':', "-")),
    )?;
    Ok(response)
}

fn not_found() -> worker::Result<Response> {
    error(404, "not_found", "no such docpack")
}

/// The owner behind the request's token, or the response refusing it.
async fn owner(
    req: &Request,
    db: &D1Database,
    id: &str,
) -> worker::Result<Result<String, Response>> {
    let Some(token) = access::bearer(req) else {
        return error(
            401,
            "unauthorized",
            "this docpack is private: send its owner's token (Authorization: Bearer TOKEN), or use a share link or a signed link",
        )
        .map(Err);
    };
    let Some(user) = meta::user(db, &token).await? else {
        return unknown_token().map(Err);
    };
    // Someone else's docpack is as absent as one that does not exist.
    if !meta::owns(db, id, &user).await? {
        return not_found().map(Err);
    }
    Ok(Ok(user))
}

fn signing_key(ctx: &RouteContext<()>) -> Option<String> {
    ctx.secret("SIGNING_KEY")
        .map(|s| s.to_string())
        .or_else(|_| ctx.var("SIGNING_KEY").map(|v| v.to_string()))
        .ok()
        .filter(|k| !k.is_empty())
}

fn docpack_id(ctx: &RouteContext<()>) -> Option<String> {
    let id = ctx.param("id")?;
    let valid = id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':');
    valid.then(|| id.clone())
}

async fn download(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let Some(id) = docpack_id(&ctx) else {
        return not_found();
    };
    let url = req.url()?;
    let query = |name: &str| query_param(&url, name);
    if let (Some(expires), Some(signature)) = (query("expires"), query("signature")) {
        let Some(key) = signing_key(&ctx) else {
            return error(
                500,
                "misconfigured",
                "SIGNING_KEY is not set: signed links are off",
            );
        };
        let expires: u64 = expires.parse().unwrap_or(0);
        if !access::verify(&key, &id, expires, &signature) {
            return error(
                403,
                "bad_signature",
                "this link's signature does not match: ask its owner for a new one",
            );
        }
        if Date::now().as_millis() / 1000 >= expires {
            return error(
                403,
                "link_expired",
                "this signed link has expired: ask its owner for a new one",
            );
        }
        return serve_docpack(&ctx, &id).await;
    }
    match owner(&req, &ctx.d1("DB")?, &id).await? {
        Ok(_) => serve_docpack(&ctx, &id).await,
        Err(refused) => Ok(refused),
    }
}

async fn share(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let Some(id) = docpack_id(&ctx) else {
        return not_found();
    };
    let db = ctx.d1("DB")?;
    let user = match owner(&req, &db, &id).await? {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    let Some(token) = meta::share(&db, &id, &user).await? else {
        return not_found();
    };
    let url = format!("{}/p/{token}", req.url()?.origin().ascii_serialization());
    Response::from_json(&serde_json::json!({"token": token, "url": url}))
}

#[derive(Deserialize)]
struct LinkRequest {
    expires_in: Option<u64>,
}

async fn link(mut req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let Some(id) = docpack_id(&ctx) else {
        return not_found();
    };
    if let Err(refused) = owner(&req, &ctx.d1("DB")?, &id).await? {
        return Ok(refused);
    }
    let Some(key) = signing_key(&ctx) else {
        return error(
            500,
            "misconfigured",
            "SIGNING_KEY is not set: signed links are off",
        );
    };
    let asked: LinkRequest = req.json().await.unwrap_or(LinkRequest { expires_in: None });
    let seconds = asked.expires_in.unwrap_or(access::DEFAULT_LINK_SECONDS);
    if seconds == 0 || seconds > access::MAX_LINK_SECONDS {
        return error(
            400,
            "bad_request",
            &format!(
                "expires_in must be 1 to {} seconds",
                access::MAX_LINK_SECONDS
            ),
        );
    }
    let expires = Date::now().as_millis() / 1000 + seconds;
    let url = format!(
        "{}/api/docpacks/{id}?expires={expires}&signature={}",
        req.url()?.origin().ascii_serialization(),
        access::sign(&key, &id, expires)
    );
    Response::from_json(&serde_json::json!({"url": url, "expires": expires}))
}

/// The website's Content-Security-Policy (as `web/public/_headers` gives the static assets).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async fn public(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let accept = req.headers().get("Accept")?.unwrap_or_default();
    if accept.contains("text/html") {
        // A person following the link: the explorer, which fetches the bytes from here.
        let assets = ctx.env.assets("ASSETS")?;
        let mut url = req.url()?;
        url.set_path("/");
        let page = assets.fetch(url.to_string(), None).await?;
        let mut page = Response::from_body(page.body().clone())?.with_status(page.status_code());
        let headers = page.headers_mut();
        headers.set("Content-Type", "text/html; charset=utf-8")?;
        headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY)?;
        headers.set("X-Content-Type-Options", "nosniff")?;
        return Ok(page);
    }
    let token = ctx.param("token").cloned().unwrap_or_default();
    match meta::shared(&ctx.d1("DB")?, &token).await? {
        Some(id) => serve_docpack(&ctx, &id).await,
        None => error(404, "not_found", "no docpack is shared under this link"),
    }
}

/// Lines of an excerpt at most: a symbol's worth, not a file's.
const MAX_EXCERPT_LINES: usize = 200;

/// Lines of a file of the docpack's repository at its commit, read from GitHub.
async fn source(req: &Request, ctx: &RouteContext<()>, id: &str) -> worker::Result<Response> {
    let url = req.url()?;
    let query = |name: &str| query_param(&url, name);
    let line = |name: &str| query(name).and_then(|v| v.parse::<usize>().ok());
    let (Some(path), Some(start), Some(end)) = (query("path"), line("start"), line("end")) else {
        return error(400, "bad_request", "give ?path=FILE&start=LINE&end=LINE");
    };
    let Some((repo_url, commit)) = meta::origin(&ctx.d1("DB")?, id).await? else {
        return not_found();
    };
    let Some(repo) = doctown_core::github::GitHubRepo::parse(&repo_url) else {
        return error(
            404,
            "not_found",
            "this docpack's repository is not on GitHub",
        );
    };
    let settings = host::Settings::from_env(&ctx.env)?;
    let limits = doctown_core::policy::Limits::default();
    let file = doctown_core::github::fetch_file(
        &host::FetchClient,
        &repo,
        &settings.github_api_url,
        settings.github_token.as_deref(),
        (&commit, &path),
        limits.max_file_bytes,
    )
    .await;
    match file {
        Ok(bytes) => Response::from_json(&serde_json::json!({
            "path": path,
            "commit": commit,
            "start": start,
            "text": doctown_core::github::excerpt(&String::from_utf8_lossy(&bytes), start, end, MAX_EXCERPT_LINES),
        })),
        Err(e) => error(502, "source_unavailable", &e.to_string()),
    }
}

/// A minute's ticket to the job's event socket, for its owner.
async fn ticket(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    if access::bearer(&req).is_none() {
        return error(
            401,
            "unauthorized",
            "send the job owner's token (Authorization: Bearer TOKEN)",
        );
    }
    if let Err(refused) = may_see_job(&req, &ctx).await? {
        return Ok(refused);
    }
    let Some(key) = signing_key(&ctx) else {
        return error(
            500,
            "misconfigured",
            "SIGNING_KEY is not set: tickets are off",
        );
    };
    let id = ctx.param("id").cloned().unwrap_or_default();
    let expires = Date::now().as_millis() / 1000 + access::EVENTS_TICKET_SECONDS;
    let signature = access::sign(&key, &access::events_subject(&id), expires);
    Response::from_json(&serde_json::json!({"expires": expires, "signature": signature}))
}

async fn unshare(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let Some(id) = docpack_id(&ctx) else {
        return not_found();
    };
    let db = ctx.d1("DB")?;
    let user = match owner(&req, &db, &id).await? {
        Ok(user) => user,
        Err(refused) => return Ok(refused),
    };
    meta::unshare(&db, &id, &user).await?;
    Response::from_json(&serde_json::json!({"shared": false}))
}

async fn library(req: Request, ctx: RouteContext<()>) -> worker::Result<Response> {
    let Some(token) = access::bearer(&req) else {
        return error(
            401,
            "unauthorized",
            "send your token (Authorization: Bearer TOKEN) to list your jobs",
        );
    };
    let db = ctx.d1("DB")?;
    let Some(user) = meta::user(&db, &token).await? else {
        return unknown_token();
    };
    Response::from_json(&serde_json::json!({"jobs": meta::library(&db, &user).await?}))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Router::new()
        .get("/api/health", |_, _| {
            Response::from_json(&serde_json::json!({"ok": true}))
        })
        .post_async("/api/jobs", submit)
        .get_async("/api/jobs/:id", |req, ctx| forward(req, ctx, "/status"))
        .post_async("/api/jobs/:id/approve", |req, ctx| {
            forward(req, ctx, "/approve")
        })
        .post_async("/api/jobs/:id/cancel", |req, ctx| {
            forward(req, ctx, "/cancel")
        })
        .get_async("/api/jobs/:id/events", |req, ctx| async move {
            let upgrade = req.headers().get("Upgrade")?.unwrap_or_default();
            if !upgrade.eq_ignore_ascii_case("websocket") {
                return error(426, "upgrade_required", "connect with a WebSocket");
            }
            forward(req, ctx, "/events").await
        })
        .get_async("/api/docpacks/:id", download)
        .post_async("/api/docpacks/:id/share", share)
        .post_async("/api/docpacks/:id/link", link)
        .get_async("/p/:token", public)
        .post_async("/api/jobs/:id/ticket", ticket)
        .delete_async("/api/docpacks/:id/share", unshare)
        .get_async("/api/docpacks/:id/source", |req, ctx| async move {
            let Some(id) = docpack_id(&ctx) else {
                return not_found();
            };
            match owner(&req, &ctx.d1("DB")?, &id).await? {
                Ok(_) => source(&req, &ctx, &id).await,
                Err(refused) => Ok(refused),
            }
        })
        .get_async("/p/:token/source", |req, ctx| async move {
            let token = ctx.param("token").cloned().unwrap_or_default();
            match meta::shared(&ctx.d1("DB")?, &token).await? {
                Some(id) => source(&req, &ctx, &id).await,
                None => error(404, "not_found", "no docpack is shared under this link"),
            }
        })
        .get_async("/api/library", library)
        .or_else_any_method("/*rest", |_, _| error(404, "not_found", "no such endpoint"))
        .run(req, env)
        .await
}
