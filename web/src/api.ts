// The Worker's HTTP API (edge/src/lib.rs) and the owner's token, kept in this browser.

const TOKEN_KEY = "doctown.token";

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const owner = token();
  if (owner) headers.Authorization = `Bearer ${owner}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, "unreadable", `${path} answered ${response.status}`);
  }
  if (!response.ok) {
    const error = json?.error ?? {};
    throw new ApiError(response.status, error.code ?? "error", error.message ?? text);
  }
  return json as T;
}

export interface Estimate {
  verbalizer: string;
  symbols: number;
  requests: number;
  usd: number;
  most_usd?: number;
}

export interface JobView {
  job_id: string;
  phase: string;
  status?: string;
  reason?: string;
  request: { repo: string; ref?: string };
  estimate?: Estimate;
  docpack?: { id: string; sha256: string; bytes: number };
  spent_usd?: number;
  token?: string;
}

export async function submitJob(repo: string, ref: string | null): Promise<JobView> {
  const job = await call<JobView>("POST", "/api/jobs", ref ? { repo, ref } : { repo });
  if (job.token) localStorage.setItem(TOKEN_KEY, job.token);
  return job;
}

export const job = (id: string) => call<JobView>("GET", `/api/jobs/${id}`);
export const approve = (id: string) => call<JobView>("POST", `/api/jobs/${id}/approve`);
export const cancel = (id: string) => call<JobView>("POST", `/api/jobs/${id}/cancel`);
export const share = (id: string) => call<{ url: string }>("POST", `/api/docpacks/${id}/share`);

export interface LibraryEntry {
  job_id: string;
  repo: string;
  ref: string | null;
  phase: string;
  status: string | null;
  docpack_id: string | null;
  created_at: number;
}

export async function library(): Promise<LibraryEntry[]> {
  if (!token()) return [];
  return (await call<{ jobs: LibraryEntry[] }>("GET", "/api/library")).jobs;
}

/** A docpack's bytes: the owner's by id, a shared one by its link, or the one `doctown view` serves. */
export async function docpackBytes(source: DocpackSource): Promise<Uint8Array> {
  const headers: Record<string, string> = { Accept: "application/octet-stream" };
  let path: string;
  if (source.kind === "owned") {
    path = `/api/docpacks/${source.id}`;
    const owner = token();
    if (owner) headers.Authorization = `Bearer ${owner}`;
  } else if (source.kind === "shared") {
    path = `/p/${source.token}`;
  } else {
    path = "/api/view/docpack";
  }
  const response = await fetch(path, { headers });
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, "docpack", message);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** Lines `start..=end` of a file of the docpack's repository at its commit. */
export async function excerpt(source: DocpackSource, path: string, start: number, end: number): Promise<string> {
  const query = `path=${encodeURIComponent(path)}&start=${start}&end=${end}`;
  const headers: Record<string, string> = {};
  let url: string;
  if (source.kind === "owned") {
    url = `/api/docpacks/${source.id}/source?${query}`;
    const owner = token();
    if (owner) headers.Authorization = `Bearer ${owner}`;
  } else if (source.kind === "shared") {
    url = `/p/${source.token}/source?${query}`;
  } else {
    url = `/api/view/source?${query}`;
  }
  const response = await fetch(url, { headers });
  const body = await response.json();
  if (!response.ok) throw new ApiError(response.status, body?.error?.code ?? "error", body?.error?.message ?? "");
  return body.text;
}

export type DocpackSource =
  | { kind: "owned"; id: string }
  | { kind: "shared"; token: string }
  | { kind: "local" };

/**
 * The job's events over a WebSocket, resumed after a drop from the last one seen. Events reach
 * `onEvent` in `seq` order, each once: one that comes early waits for those before it, and one
 * seen before (the same `idempotency_key`, as a replay carries) is dropped.
 */
export function events(
  id: string,
  onEvent: (event: any) => void,
  onState: (connected: boolean) => void,
): () => void {
  let next = 0;
  const waiting = new Map<number, any>();
  const seen = new Set<string>();
  let socket: WebSocket | null = null;
  let closed = false;
  let retry = 500;
  const open = async () => {
    // A browser's WebSocket sends no bearer token: a ticket, asked for with it, opens the socket.
    let ticket: { expires: number; signature: string };
    try {
      ticket = await call("POST", `/api/jobs/${id}/ticket`);
    } catch {
      onState(false);
      if (!closed) setTimeout(open, retry);
      retry = Math.min(retry * 2, 10_000);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = `since=${next}&expires=${ticket.expires}&signature=${ticket.signature}`;
    socket = new WebSocket(`${scheme}://${location.host}/api/jobs/${id}/events?${query}`);
    socket.onopen = () => {
      retry = 500;
      onState(true);
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.seq < next) return; // delivered already
      waiting.set(event.seq, event);
      for (let ready = waiting.get(next); ready; ready = waiting.get(next)) {
        waiting.delete(next);
        next++;
        if (seen.has(ready.idempotency_key)) continue;
        seen.add(ready.idempotency_key);
        onEvent(ready);
      }
    };
    socket.onclose = () => {
      onState(false);
      if (closed) return;
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  };
  open();
  return () => {
    closed = true;
    socket?.close();
  };
}
