import { ApiError, docpackBytes, DocpackSource, excerpt, share } from "../api";
import { DocNode, Docpack, read, Text } from "../docpack";
import { h, replace } from "../dom";
import { buildGraph, drawGraph, GraphMode, GraphView, layOut } from "../graph";

/** Results shown for a search; symbols listed per module and cluster on the overview. */
const SEARCH_RESULTS = 50;
const LISTED = 10;

/** A loaded docpack with its lookups, kept while the user moves between its pages. */
interface Loaded {
  key: string;
  docpack: Docpack;
  byId: Map<string, DocNode>;
  calls: Map<string, string[]>;
  callers: Map<string, string[]>;
}

let loaded: Loaded | null = null;
let graphView: GraphView | null = null;

function sourceKey(source: DocpackSource): string {
  return source.kind === "owned" ? `owned/${source.id}` : source.kind === "shared" ? `shared/${source.token}` : "local";
}

async function load(source: DocpackSource): Promise<Loaded> {
  const key = sourceKey(source);
  if (loaded?.key === key) return loaded;
  const docpack = await read(await docpackBytes(source));
  const byId = new Map(docpack.nodes.map((n) => [n.id, n]));
  const calls = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  for (const e of docpack.graph.edges) {
    if (e.kind !== "calls" || !byId.has(e.target)) continue;
    if (!calls.has(e.source)) calls.set(e.source, []);
    calls.get(e.source)!.push(e.target);
    if (!callers.has(e.target)) callers.set(e.target, []);
    callers.get(e.target)!.push(e.source);
  }
  loaded = { key, docpack, byId, calls, callers };
  return loaded;
}

/**
 * The docpack explorer. `base` is the hash prefix of its pages (`#/docpacks/ID`, or `#` where the
 * page path names the docpack: a shared link, `doctown view`); `rest` the page within it.
 */
export function explorerPage(source: DocpackSource, base: string, rest: string): HTMLElement {
  graphView?.kill();
  graphView = null;
  const main = h("div", { id: "explorer-main" }, h("p", {}, "Loading the docpack…"));
  const element = h("section", { class: "page explorer" }, main);
  load(source)
    .then((state) => {
      const [page, ...args] = rest.replace(/^\//, "").split("/");
      const query = decodeURIComponent(args.join("/"));
      replace(main, header(state, source, base), body(state, source, base, page, query));
    })
    .catch((e) => replace(main, h("p", { class: "error", id: "explorer-error" }, e instanceof ApiError ? e.message : String(e))));
  return element;
}

function body(state: Loaded, source: DocpackSource, base: string, page: string, arg: string): HTMLElement {
  switch (page) {
    case "symbol": {
      const node = state.byId.get(arg);
      return node ? symbolPage(state, source, base, node) : h("p", { class: "error" }, "No such symbol in this docpack.");
    }
    case "search":
      return searchPage(state, base, arg);
    case "graph":
      return graphPage(state, base, (arg as GraphMode) || "calls");
    default:
      return overview(state, base);
  }
}

function verbalized(text: Text, id: string): HTMLElement {
  return h(
    "div",
    { class: "generated", id },
    h("p", {}, text.text),
    h("span", { class: "badge verbalizer", title: text.rejected ? `the model's text was refused: ${text.rejected}` : "" }, `written by ${text.verbalizer}`),
  );
}

function header(state: Loaded, source: DocpackSource, base: string): HTMLElement {
  const m = state.docpack.manifest;
  const search = h("input", { id: "search", type: "search", placeholder: "Search names and docs", value: "" });
  const form = h("form", { id: "search-form" }, search);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `${base}/search/${encodeURIComponent(search.value)}`;
  });
  const download = h(
    "a",
    { id: "download", class: "button", href: URL.createObjectURL(new Blob([state.docpack.bytes as BlobPart])), download: `${state.docpack.id.slice(0, 16)}.docpack` },
    "Download",
  );
  const shareBox = h("div", { id: "share" });
  if (source.kind === "owned") {
    const button = h("button", { id: "make-public", class: "secondary" }, "Make public");
    button.addEventListener("click", async () => {
      try {
        const { url } = await share(source.id);
        const link = new URL(url, location.href).href;
        const field = h("input", { id: "share-link", readonly: true, value: link });
        const copy = h("button", { id: "copy-link", class: "secondary" }, "Copy link");
        copy.addEventListener("click", () => {
          field.select();
          navigator.clipboard?.writeText(link).catch(() => undefined);
        });
        replace(shareBox, field, copy);
      } catch (e) {
        replace(shareBox, h("p", { class: "error" }, e instanceof ApiError ? e.message : String(e)));
      }
    });
    shareBox.appendChild(button);
  }
  return h(
    "header",
    { class: "docpack-header" },
    h("h1", {}, h("a", { href: `${base}/` }, m.repository.location)),
    h(
      "p",
      { class: "meta" },
      `${m.repository.ref ? `ref ${m.repository.ref}, ` : ""}${m.repository.commit ? `commit ${String(m.repository.commit).slice(0, 12)}, ` : ""}`,
      h("span", { class: "badge", id: "docpack-status" }, m.status),
      ` ${m.counts.symbols} symbols, ${m.counts.edges} edges, ${m.counts.clusters} clusters · texts by ${m.verbalizer}`,
    ),
    h("nav", {}, h("a", { href: `${base}/` }, "Overview"), h("a", { href: `${base}/graph/calls`, id: "graph-link" }, "Graph"), form, download),
    shareBox,
  );
}

function symbolLink(base: string, node: DocNode): HTMLElement {
  return h("a", { href: `${base}/symbol/${node.id}`, class: "symbol-link", "data-symbol": node.qualified_name }, node.qualified_name);
}

function overview(state: Loaded, base: string): HTMLElement {
  const d = state.docpack;
  const top = d.nodes
    .filter((n) => n.parent !== null)
    .sort((a, b) => a.metrics.rank - b.metrics.rank)
    .slice(0, 20);
  const diagram = h("div", { id: "architecture-diagram", class: "graph small" });
  const modules = buildGraph(d, "modules");
  layOut(modules).then(() => {
    if (!diagram.isConnected) return;
    graphView?.kill();
    graphView = drawGraph(diagram, modules, () => undefined);
  });
  return h(
    "div",
    { id: "overview" },
    h("h2", {}, "Architecture"),
    verbalized(d.modules.architecture, "architecture"),
    diagram,
    h("h2", {}, "Most central symbols"),
    h("ol", { id: "top-symbols" }, top.map((n) => h("li", {}, symbolLink(base, n), ` (${n.kind})`))),
    h("h2", {}, "Modules"),
    h(
      "ul",
      { id: "modules" },
      d.modules.modules.map((m) =>
        h("li", {}, h("strong", {}, m.module), ` · used by ${m.afferent}, uses ${m.efferent}`, verbalized(m.overview, `module-${m.module}`)),
      ),
    ),
    h("h2", {}, "Clusters"),
    h(
      "ul",
      { id: "clusters" },
      d.clusters.clusters.map((c) =>
        h(
          "li",
          {},
          h("strong", {}, c.label),
          ` (${c.members.length}): `,
          c.members
            .slice(0, LISTED)
            .map((id) => state.byId.get(id))
            .filter((n): n is DocNode => !!n)
            .flatMap((n, i) => (i ? [", ", symbolLink(base, n)] : [symbolLink(base, n)])),
        ),
      ),
    ),
  );
}

/** Where the symbol's lines are on GitHub at the docpack's commit, when it came from GitHub. */
function sourceUrl(manifest: any, node: DocNode): string | null {
  const repo = manifest.repository;
  if (repo.kind !== "github" || !repo.commit || !/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/.test(repo.location)) return null;
  return `${repo.location}/blob/${repo.commit}/${node.path.split("/").map(encodeURIComponent).join("/")}#L${node.start_line}-L${node.end_line}`;
}

function symbolPage(state: Loaded, source: DocpackSource, base: string, node: DocNode): HTMLElement {
  const list = (ids: string[] | undefined, id: string) =>
    h(
      "ul",
      { id },
      [...new Set(ids ?? [])]
        .map((i) => state.byId.get(i))
        .filter((n): n is DocNode => !!n)
        .map((n) => h("li", {}, symbolLink(base, n))),
    );
  const url = sourceUrl(state.docpack.manifest, node);
  const m = node.metrics;
  const code = h("div", { id: "excerpt-box" });
  excerpt(source, node.path, node.start_line, node.end_line)
    .then((text) => replace(code, h("pre", { id: "excerpt", class: "excerpt" }, h("code", {}, text))))
    .catch((e) => replace(code, h("p", { class: "note", id: "excerpt-missing" }, `No excerpt: ${e instanceof ApiError ? e.message : String(e)}`)));
  return h(
    "article",
    { id: "symbol", "data-id": node.id },
    h("h2", {}, h("span", { class: "badge kind" }, node.kind), " ", h("span", { id: "symbol-name" }, node.qualified_name)),
    node.signature ? h("pre", { id: "signature" }, h("code", {}, node.signature)) : null,
    h("h3", {}, "What it is"),
    verbalized(node.doc, "generated-doc"),
    node.doc_comment ? h("div", {}, h("h3", {}, "Its doc comment"), h("pre", { id: "doc-comment", class: "doc-comment" }, node.doc_comment)) : null,
    h(
      "dl",
      { id: "metrics" },
      h("dt", {}, "PageRank rank"),
      h("dd", {}, `${m.rank} (${m.pagerank.toFixed(5)})`),
      h("dt", {}, "Complexity"),
      h("dd", {}, String(m.complexity)),
      h("dt", {}, "Fan-in / fan-out"),
      h("dd", {}, `${m.fan_in} / ${m.fan_out}`),
      h("dt", {}, "Lines"),
      h("dd", {}, String(m.lines)),
    ),
    h("h3", {}, "Calls"),
    list(state.calls.get(node.id), "calls"),
    h("h3", {}, "Called by"),
    list(state.callers.get(node.id), "called-by"),
    h(
      "p",
      { id: "source" },
      `${node.path}:${node.start_line}-${node.end_line} `,
      url ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank", id: "source-link" }, "source at this commit") : null,
    ),
    code,
  );
}

function searchPage(state: Loaded, base: string, query: string): HTMLElement {
  const needle = query.trim().toLowerCase();
  const hits = needle
    ? state.docpack.nodes
        .filter((n) => n.qualified_name.toLowerCase().includes(needle) || n.doc.text.toLowerCase().includes(needle) || (n.doc_comment ?? "").toLowerCase().includes(needle))
        .sort((a, b) => {
          const named = (n: DocNode) => (n.name.toLowerCase() === needle ? 0 : n.qualified_name.toLowerCase().includes(needle) ? 1 : 2);
          return named(a) - named(b) || a.metrics.rank - b.metrics.rank;
        })
    : [];
  return h(
    "div",
    { id: "search-results" },
    h("h2", {}, `${hits.length} results for “${query}”`),
    h(
      "ol",
      {},
      hits.slice(0, SEARCH_RESULTS).map((n) => h("li", {}, symbolLink(base, n), h("p", { class: "snippet" }, n.doc.text))),
    ),
  );
}

function graphPage(state: Loaded, base: string, mode: GraphMode): HTMLElement {
  const container = h("div", { id: "graph", class: "graph" });
  const text = h("input", { id: "graph-filter", type: "search", placeholder: "Filter by name" });
  const kinds = [...new Set(state.docpack.nodes.map((n) => n.kind))].sort();
  const kind = h("select", { id: "graph-kind" }, h("option", { value: "" }, "every kind"), kinds.map((k) => h("option", { value: k }, k)));
  const apply = () => graphView?.filter(text.value, kind.value);
  text.addEventListener("input", apply);
  kind.addEventListener("change", apply);
  const started = performance.now();
  const graph = buildGraph(state.docpack, mode);
  const status = h("p", { id: "graph-status", class: "note" }, `Laying out ${graph.order} nodes and ${graph.size} edges…`);
  layOut(graph).then(() => {
    // The user may have moved on while the worker ran.
    if (!container.isConnected) return;
    status.remove();
    graphView?.kill();
    const laidOut = performance.now();
    graphView = drawGraph(container, graph, (id) => {
      if (state.byId.has(id)) location.hash = `${base}/symbol/${id}`;
    });
    // For the benchmark (scripts/bench-web.sh): the size and what the first view took.
    container.dataset.layoutMs = String(Math.round(laidOut - started));
    container.dataset.drawMs = String(Math.round(performance.now() - laidOut));
    container.dataset.nodes = String(graph.order);
    (window as any).doctownGraph = graphView;
  });
  return h(
    "div",
    { id: "graph-page" },
    h(
      "nav",
      { class: "graph-controls" },
      h("a", { href: `${base}/graph/calls`, class: mode === "calls" ? "active" : "" }, "Call graph"),
      h("a", { href: `${base}/graph/modules`, class: mode === "modules" ? "active" : "" }, "Module graph"),
      text,
      kind,
    ),
    status,
    container,
  );
}
