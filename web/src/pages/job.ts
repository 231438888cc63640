import { ApiError, approve, cancel, events, job, JobView } from "../api";
import { h, replace } from "../dom";

/** Shown of the event log: the latest ones (a big repository sends tens of thousands). */
const LOG_LINES = 200;

interface Stage {
  name: string;
  done: number;
  total: number | null;
  finished: boolean;
  detail: string;
}

/** The job page: progress over the WebSocket, the estimate to approve, the outcome. */
export function jobPage(id: string): { element: HTMLElement; close: () => void } {
  const stages: Record<string, Stage> = {};
  for (const name of ["ingest", "embed", "assemble", "generate", "pack"]) {
    stages[name] = { name, done: 0, total: null, finished: false, detail: "" };
  }
  const counts = { detected: 0, skipped: 0, chunks: 0, vectors: 0, clusters: 0 };
  let first: number | null = null;
  let last: number | null = null;
  const log: string[] = [];
  /** Why each skipped file was skipped (from `ingest.file_skipped`). */
  const reasons = new Map<string, string>();

  const bars = h("div", { id: "stages" });
  const elapsed = h("p", { id: "elapsed" });
  const connection = h("span", { id: "connection", class: "badge" }, "connecting");
  const decision = h("div", { id: "decision" });
  const outcome = h("div", { id: "outcome" });
  const logList = h("ol", { id: "log" });
  const title = h("h1", {}, "Job");

  const render = () => {
    replace(
      bars,
      Object.values(stages).map((s) => {
        const fraction = s.finished ? 1 : s.total ? Math.min(s.done / s.total, 1) : 0;
        return h(
          "div",
          { class: `stage${s.finished ? " finished" : ""}`, "data-stage": s.name },
          h("span", { class: "stage-name" }, s.name),
          h("progress", { max: 1, value: fraction.toFixed(3) }),
          h("span", { class: "stage-detail" }, s.detail),
        );
      }),
    );
    if (first !== null && last !== null) elapsed.textContent = `elapsed ${((last - first) / 1000).toFixed(1)} s`;
    replace(logList, log.slice(-LOG_LINES).map((line) => h("li", {}, line)));
  };

  const showStatus = (view: JobView) => {
    title.textContent = `Job: ${view.request.repo}${view.request.ref ? ` @ ${view.request.ref}` : ""}`;
    replace(decision);
    if (view.phase === "awaiting_approval" && view.estimate) {
      const e = view.estimate;
      const paid = e.usd > 0;
      replace(
        decision,
        h("h2", {}, "Estimate"),
        h(
          "p",
          { id: "estimate" },
          paid
            ? `${e.verbalizer} writes ${e.symbols} symbols' docs in ${e.requests} requests for about $${e.usd.toFixed(4)} (at most $${(e.most_usd ?? e.usd).toFixed(4)}).`
            : `The ${e.verbalizer} verbalizer writes ${e.symbols} symbols' docs, free.`,
        ),
        h("button", { id: "approve", onclick: () => act(approve) }, "Approve"),
        h("button", { id: "cancel", class: "secondary", onclick: () => act(cancel) }, "Cancel"),
      );
    } else if (!["completed", "failed", "cancelled"].includes(view.phase)) {
      replace(decision, h("button", { id: "cancel", class: "secondary", onclick: () => act(cancel) }, "Cancel"));
    }
  };

  const act = async (what: (id: string) => Promise<JobView>) => {
    try {
      const view = await what(id);
      if (view.phase) showStatus(view);
    } catch (e) {
      replace(decision, h("p", { class: "error" }, e instanceof ApiError ? e.message : String(e)));
    }
  };

  const refresh = () => job(id).then(showStatus).catch((e) => replace(outcome, h("p", { class: "error" }, String(e.message ?? e))));

  const onEvent = (event: any) => {
    const p = event.payload ?? {};
    first ??= event.timestamp;
    last = event.timestamp;
    switch (event.event) {
      case "ingest.file_detected.v1":
        counts.detected++;
        break;
      case "ingest.file_skipped.v1":
        counts.skipped++;
        reasons.set(p.path, p.detail ? `${p.reason}: ${p.detail}` : p.reason);
        break;
      case "ingest.chunk_created.v1":
        counts.chunks++;
        stages.embed.total = counts.chunks;
        break;
      case "ingest.completed.v1":
        stages.ingest.finished = true;
        break;
      case "embedding.chunk_vector.v1":
        counts.vectors++;
        stages.embed.done = counts.vectors;
        break;
      case "embedding.completed.v1":
        stages.embed.finished = true;
        break;
      case "assembly.cluster_created.v1":
        counts.clusters++;
        break;
      case "assembly.completed.v1":
        stages.assemble.finished = true;
        stages.assemble.detail = `${p.nodes} nodes, ${p.edges} edges, ${p.clusters} clusters`;
        refresh();
        break;
      case "generation.started.v1":
        stages.generate.total = p.symbols;
        refresh();
        break;
      case "generation.symbol_documented.v1":
        stages.generate.done++;
        break;
      case "generation.completed.v1":
        stages.generate.finished = true;
        break;
      case "pack.completed.v1":
        stages.pack.finished = true;
        stages.pack.detail = `${p.bytes} bytes`;
        break;
      case "job.completed.v1":
        finish(p);
        break;
    }
    stages.ingest.detail = `${counts.detected} files, ${counts.skipped} skipped, ${counts.chunks} chunks`;
    stages.embed.detail = `${counts.vectors} of ${counts.chunks} vectors`;
    if (!stages.assemble.finished) stages.assemble.detail = `${counts.clusters} clusters`;
    stages.generate.detail = `${stages.generate.done} of ${stages.generate.total ?? "?"} documented`;
    log.push(`${event.seq} ${event.event}`);
    scheduleRender();
  };

  const finish = (p: any) => {
    replace(decision);
    const skipped: string[] = p.skipped_files ?? [];
    replace(
      outcome,
      h("h2", { id: "final-status", "data-status": p.status }, p.reason ?? p.status),
      p.docpack_id ? h("p", {}, h("a", { id: "open-docpack", href: `#/docpacks/${p.docpack_id}` }, "Open the docpack")) : null,
      skipped.length
        ? h(
            "details",
            { id: "skipped" },
            h("summary", {}, `${skipped.length} files skipped`),
            h("ul", {}, skipped.map((f) => h("li", {}, `${f}: ${reasons.get(f) ?? "its chunks could not be embedded"}`))),
          )
        : null,
    );
  };

  // Many events can arrive in one burst: one render per frame.
  let pending = false;
  const scheduleRender = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      render();
    });
  };

  const close = events(id, onEvent, (connected) => {
    connection.textContent = connected ? "live" : "reconnecting";
  });
  refresh();
  render();
  const element = h(
    "section",
    { class: "page", id: "job", "data-job": id },
    title,
    connection,
    elapsed,
    bars,
    decision,
    outcome,
    h("h2", {}, "Events"),
    logList,
  );
  return { element, close };
}
