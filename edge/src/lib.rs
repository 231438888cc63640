//! Doctown at the edge: the HTTP API of a Cloudflare Worker in front of one `JobCoordinator`
//! Durable Object per job (see [`coordinator`]), R2 for archives and docpacks, gpu-service over
//! HTTPS for embeddings. The pipeline itself is the core's ([`doctown_core::job`]); this crate
//! only moves bytes between it and the runtime.
//!
//! ```text
//! POST /api/jobs                  {"repo": URL, "ref": REF?} → 201 the job (its `job_id`)
//! GET  /api/jobs/:id              phase, progress, estimate, docpack
//! POST /api/jobs/:id/approve      agree to the estimate: generation starts
//! POST /api/jobs/:id/cancel
//! GET  /api/jobs/:id/events       WebSocket: the v1 events (`?since=SEQ` resumes after a drop)
//! GET  /api/docpacks/:id          the docpack's bytes
//! GET  /api/health
//! ```
//! Errors are JSON: `{"error": {"code": …, "message": …}}`.

mod coordinator;
mod host;
mod store;

use doctown_core::job::JobRequest;
use worker::{event, Context, Env, Request, Response, RouteContext, Router, Stub};

pub use coordinator::JobCoordinator;

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

/// Forwards to the job's object at `path`, keeping the method (and a WebSocket upgrade).
async fn forward(req: Request, ctx: RouteContext<()>, path: &str) -> worker::Result<Response> {
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
    if let Err(e) = request.repository() {
        return error(400, "bad_request", &e.to_string());
    }
    let namespace = ctx.durable_object("JOBS")?;
    let id = namespace.unique_id()?;
    let job_id = id.to_string();
    let stub = id.get_stub()?;
    let body = serde_json::to_string(&(job_id, request))?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post)
        .with_body(Some(body.into()));
    stub.fetch_with_request(Request::new_with_init("https://job/start", &init)?)
        .await
}

async fn docpack(ctx: RouteContext<()>) -> worker::Result<Response> {
    let id = ctx.param("id").cloned().unwrap_or_default();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b':')
    {
        return error(404, "not_found", "no such docpack");
    }
    let bucket = ctx.bucket("DOCPACKS")?;
    let Some(object) = bucket.get(coordinator::docpack_key(&id)).execute().await? else {
        return error(404, "not_found", "no such docpack");
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
        .get_async("/api/docpacks/:id", |_req, ctx| docpack(ctx))
        .or_else_any_method("/*rest", |_, _| error(404, "not_found", "no such endpoint"))
        .run(req, env)
        .await
}
