// The graph view: the call graph or the module graph on a canvas (cytoscape.js), laid out by
// ForceAtlas2 (graphology) from positions seeded by each node's id, so the same docpack draws
// the same. While the user pans and zooms, cytoscape moves a cached image of the graph and
// redraws it once they stop: a graph of thousands of nodes stays responsive even where the
// browser draws in software.

import cytoscape from "cytoscape";
import Graph from "graphology";
import type { Docpack } from "./docpack";
import type { LayoutRequest } from "./layout.worker";
import LayoutWorker from "./layout.worker?worker";

/** Layout iterations: enough to untangle a few thousand nodes, done before the first frame. */
const LAYOUT_ITERATIONS = 60;
/** Pixels of drawing per node, roughly: the layout is scaled to span `sqrt(nodes)` times it,
 * so nodes keep their size in pixels beside the space between them, whatever the graph. */
const SPREAD = 60;
/** Below this many nodes every label is drawn; above it only where zoomed in enough to read. */
const ALWAYS_LABELLED = 200;
const KIND_COLORS: Record<string, string> = {
  file: "#9aa5b1",
  module: "#7b8794",
  function: "#2f80ed",
  method: "#27ae60",
  struct: "#eb5757",
  class: "#eb5757",
  enum: "#f2994a",
  trait: "#9b51e0",
  interface: "#9b51e0",
};

/** A number in [0, 1) from a string: positions that do not change between loads. */
function seeded(text: string, salt: number): number {
  let hash = 2166136261 ^ salt;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return (hash >>> 0) / 4294967296;
}

export type GraphMode = "calls" | "modules";

/** The nodes and edges of `mode`, at their seeded positions (see [`layOut`]). */
export function buildGraph(docpack: Docpack, mode: GraphMode): Graph {
  const graph = new Graph({ multi: false, type: "directed" });
  const add = (id: string, label: string, kind: string, size: number) => {
    if (graph.hasNode(id)) return;
    graph.addNode(id, { label, kind, size, x: seeded(id, 1) * 100, y: seeded(id, 2) * 100 });
  };
  if (mode === "calls") {
    for (const n of docpack.nodes) {
      if (n.kind !== "file") add(n.id, n.qualified_name, n.kind, 4 + Math.min(12, 2 * Math.sqrt(n.metrics.fan_in)));
    }
    for (const e of docpack.graph.edges) {
      if (e.kind !== "calls" || e.source === e.target || !graph.hasNode(e.source) || !graph.hasNode(e.target)) continue;
      if (!graph.hasEdge(e.source, e.target)) graph.addEdge(e.source, e.target);
    }
  } else {
    for (const m of docpack.modules.modules) add(m.module, m.module, "module", 6 + Math.min(14, 2 * m.afferent));
    for (const m of docpack.modules.modules) {
      for (const target of m.depends_on) {
        if (graph.hasNode(target) && target !== m.module && !graph.hasEdge(m.module, target)) graph.addEdge(m.module, target);
      }
    }
  }
  return graph;
}

/** Lays `graph` out with ForceAtlas2 in a worker (`layout.worker.ts`). */
export function layOut(graph: Graph): Promise<void> {
  if (graph.order < 2) return Promise.resolve();
  const ids = graph.nodes();
  const index = new Map(ids.map((id, i) => [id, i]));
  const request: LayoutRequest = {
    ids,
    xs: Float64Array.from(ids, (id) => graph.getNodeAttribute(id, "x")),
    ys: Float64Array.from(ids, (id) => graph.getNodeAttribute(id, "y")),
    edges: graph.mapEdges((_e, _a, source, target) => [index.get(source)!, index.get(target)!]),
    iterations: LAYOUT_ITERATIONS,
  };
  return new Promise((resolve, reject) => {
    const worker = new LayoutWorker();
    worker.onmessage = (message: MessageEvent<{ x: Float64Array; y: Float64Array }>) => {
      ids.forEach((id, i) => graph.mergeNodeAttributes(id, { x: message.data.x[i], y: message.data.y[i] }));
      worker.terminate();
      resolve();
    };
    worker.onerror = (error) => {
      worker.terminate();
      reject(new Error(`the layout failed: ${error.message}`));
    };
    worker.postMessage(request);
  });
}

export interface GraphView {
  cy: cytoscape.Core;
  nodes: number;
  edges: number;
  /** Shows only nodes whose label holds `text` (all when empty) and whose kind is `kind`. */
  filter(text: string, kind: string): void;
  kill(): void;
}

export function drawGraph(container: HTMLElement, graph: Graph, onClick: (id: string) => void): GraphView {
  const elements: cytoscape.ElementDefinition[] = [];
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  graph.forEachNode((_id, a) => {
    [minX, minY, maxX, maxY] = [Math.min(minX, a.x), Math.min(minY, a.y), Math.max(maxX, a.x), Math.max(maxY, a.y)];
  });
  const scale = (SPREAD * Math.sqrt(graph.order)) / (Math.max(maxX - minX, maxY - minY) || 1);
  graph.forEachNode((id, a) =>
    elements.push({
      data: { id, label: a.label, kind: a.kind, size: a.size, color: KIND_COLORS[a.kind] ?? "#56ccf2" },
      position: { x: (a.x - minX) * scale, y: (a.y - minY) * scale },
    }),
  );
  graph.forEachEdge((id, _a, source, target) => elements.push({ data: { id: `e${id}`, source, target } }));
  const labelled = graph.order < ALWAYS_LABELLED;
  const cy = cytoscape({
    container,
    elements,
    layout: { name: "preset" },
    textureOnViewport: true,
    hideEdgesOnViewport: graph.order >= ALWAYS_LABELLED,
    motionBlur: false,
    pixelRatio: 1,
    minZoom: 0.02,
    maxZoom: 8,
    style: [
      {
        selector: "node",
        style: {
          width: "data(size)",
          height: "data(size)",
          "background-color": "data(color)",
          label: "data(label)",
          "font-size": labelled ? 10 : 6,
          "min-zoomed-font-size": labelled ? 0 : 9,
          color: "#1f2933",
        },
      },
      { selector: "edge", style: { width: 1, "line-color": "#cbd2d9", "curve-style": "haystack", opacity: 0.8 } },
      { selector: ".hidden", style: { display: "none" } },
    ],
  });
  cy.on("tap", "node", (event) => onClick(event.target.id()));
  const filter = (text: string, kind: string) => {
    const needle = text.trim().toLowerCase();
    cy.batch(() =>
      cy.nodes().forEach((node) => {
        const shown = (!needle || String(node.data("label")).toLowerCase().includes(needle)) && (!kind || node.data("kind") === kind);
        node.toggleClass("hidden", !shown);
      }),
    );
  };
  return { cy, nodes: graph.order, edges: graph.size, filter, kill: () => cy.destroy() };
}
