// ForceAtlas2 off the page's thread: a graph of thousands of nodes takes seconds to lay out,
// and the page stays responsive meanwhile. Takes the nodes' seeded positions and the edges;
// answers the laid-out positions in the same order.

import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";

export interface LayoutRequest {
  ids: string[];
  xs: Float64Array;
  ys: Float64Array;
  edges: [number, number][];
  iterations: number;
}

self.onmessage = (message: MessageEvent<LayoutRequest>) => {
  const { ids, xs, ys, edges, iterations } = message.data;
  const graph = new Graph({ type: "directed", multi: false });
  ids.forEach((id, i) => graph.addNode(id, { x: xs[i], y: ys[i] }));
  for (const [a, b] of edges) graph.mergeEdge(ids[a], ids[b]);
  forceAtlas2.assign(graph, {
    iterations,
    // Strong gravity keeps the many small components of a call graph near one another.
    settings: { ...forceAtlas2.inferSettings(graph), strongGravityMode: true, barnesHutOptimize: graph.order > 500 },
  });
  const x = new Float64Array(ids.length);
  const y = new Float64Array(ids.length);
  ids.forEach((id, i) => {
    x[i] = graph.getNodeAttribute(id, "x");
    y[i] = graph.getNodeAttribute(id, "y");
  });
  (self as unknown as Worker).postMessage({ x, y }, [x.buffer, y.buffer]);
};
