// A `.docpack` read in the browser: a zstd frame (fzstd) around a tar of JSON parts
// (docs/docpack.md).

import { decompress } from "fzstd";

export interface Text {
  text: string;
  verbalizer: string;
  rejected?: string;
}

export interface DocNode {
  id: string;
  kind: string;
  name: string;
  qualified_name: string;
  language: string;
  path: string;
  start_line: number;
  end_line: number;
  parent: string | null;
  signature: string;
  visibility: string | null;
  doc_comment: string | null;
  doc: Text;
  metrics: { pagerank: number; rank: number; complexity: number; fan_in: number; fan_out: number; lines: number };
  cluster: string | null;
}

export interface Edge {
  source: string;
  target: string;
  kind: string;
  confidence?: number;
}

export interface Docpack {
  id: string;
  manifest: any;
  nodes: DocNode[];
  graph: { edges: Edge[]; externals: { id: string; name: string }[] };
  clusters: { method: string | null; clusters: { id: string; label: string; members: string[]; top_terms: string[] }[] };
  modules: {
    architecture: Text;
    modules: { module: string; files: string[]; afferent: number; efferent: number; instability: number; depends_on: string[]; overview: Text }[];
  };
  bytes: Uint8Array;
}

/** The parts of a docpack, by name. */
export function unpack(bytes: Uint8Array): Map<string, Uint8Array> {
  const tar = decompress(bytes);
  const parts = new Map<string, Uint8Array>();
  const text = (from: number, length: number) =>
    new TextDecoder().decode(tar.subarray(from, from + length)).replace(/\0.*$/s, "");
  let at = 0;
  while (at + 512 <= tar.length) {
    const name = text(at, 100);
    if (!name) break;
    const size = parseInt(text(at + 124, 12).trim(), 8);
    parts.set(name, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return parts;
}

export async function read(bytes: Uint8Array): Promise<Docpack> {
  const parts = unpack(bytes);
  const json = (name: string) => {
    const part = parts.get(name);
    if (!part) throw new Error(`not a docpack: it has no ${name}`);
    return JSON.parse(new TextDecoder().decode(part));
  };
  // The id is the SHA-256 of the canonical manifest (copied: digest takes no shared buffer).
  const manifest = json("manifest.json");
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(parts.get("manifest.json")!));
  const id = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return {
    id,
    manifest,
    nodes: json("nodes.json"),
    graph: json("graph.json"),
    clusters: json("clusters.json"),
    modules: json("modules.json"),
    bytes,
  };
}
