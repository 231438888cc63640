// The graph view: the call graph or the module graph in WebGL (sigma.js over graphology), laid
// out by ForceAtlas2 from positions seeded by each node's id, so the same docpack draws the same.

import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";
import Sigma from "sigma";
import type { Docpack } from "./docpack";

/** Layout iterations: enough to untangle a few thousand nodes, done before the first frame. */
const LAYOUT_ITERATIONS = 60;
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

export function buildGraph(docpack: Docpack, mode: GraphMode): Graph {
  const graph = new Graph({ multi: false, type: "directed" });
  const add = (id: string, label: string, kind: string, size: number) => {
    if (graph.hasNode(id)) return;
    graph.addNode(id, {
      label,
      kind,
      x: seeded(id, 1) * 100,
      y: seeded(id, 2) * 100,
      size,
      color: KIND_COLORS[kind] ?? "#56ccf2",
    });
  };
  if (mode === "calls") {
    const byId = new Map(docpack.nodes.map((n) => [n.id, n]));
    for (const n of docpack.nodes) {
      if (n.kind === "file") continue;
      add(n.id, n.qualified_name, n.kind, 2 + Math.min(8, Math.sqrt(n.metrics.fan_in)));
    }
    for (const e of docpack.graph.edges) {
      if (e.kind !== "calls" || !byId.has(e.source) || !byId.has(e.target)) continue;
      if (!graph.hasNode(e.source) || !graph.hasNode(e.target) || e.source === e.target) continue;
      if (!graph.hasEdge(e.source, e.target)) graph.addEdge(e.source, e.target, { size: 1, color: "#cbd2d9" });
    }
  } else {
    for (const m of docpack.modules.modules) add(m.module, m.module, "module", 3 + Math.min(10, m.afferent));
    for (const m of docpack.modules.modules) {
      for (const target of m.depends_on) {
        if (graph.hasNode(target) && target !== m.module && !graph.hasEdge(m.module, target)) {
          graph.addEdge(m.module, target, { size: 1, color: "#cbd2d9" });
        }
      }
    }
  }
  if (graph.order > 1) {
    forceAtlas2.assign(graph, {
      iterations: LAYOUT_ITERATIONS,
      settings: { ...forceAtlas2.inferSettings(graph), barnesHutOptimize: graph.order > 500 },
    });
  }
  return graph;
}

export interface GraphView {
  sigma: Sigma;
  graph: Graph;
  /** Shows only nodes whose label holds `text` (all when empty) and whose kind is `kind`. */
  filter(text: string, kind: string): void;
  kill(): void;
}

export function drawGraph(container: HTMLElement, graph: Graph, onClick: (id: string) => void): GraphView {
  // Every label on a small graph (a module diagram); on a big one, the larger nodes' only.
  const sigma = new Sigma(graph, container, { renderEdgeLabels: false, labelRenderedSizeThreshold: graph.order < 200 ? 0 : 8 });
  sigma.on("clickNode", ({ node }) => onClick(node));
  const filter = (text: string, kind: string) => {
    const needle = text.trim().toLowerCase();
    graph.forEachNode((node, attributes) => {
      const shown =
        (!needle || String(attributes.label).toLowerCase().includes(needle)) && (!kind || attributes.kind === kind);
      graph.setNodeAttribute(node, "hidden", !shown);
    });
  };
  return { sigma, graph, filter, kill: () => sigma.kill() };
}
