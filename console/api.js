// The HTTP API as the console uses it: one place that adds the key, the actor and If-Match, and turns the
// contract's error body into an ApiError carrying the API's own message.

const KEY = "ocp.apiKey";
const ACTOR = "ocp.actor";
let apiBase = "";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Same origin by default; a `config.json` beside index.html may name another API (`{"api": "https://…"}`). */
export async function configure() {
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) return;
    const config = await response.json();
    if (typeof config.api === "string" && config.api) apiBase = config.api.replace(/\/+$/, "");
  } catch {
    // no config.json (or not JSON): the API is on this origin
  }
}

// The key lives in sessionStorage only: it is gone when the browser tab closes.
export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get actor() { return sessionStorage.getItem(ACTOR); },
  signIn(key, actor) {
    sessionStorage.setItem(KEY, key);
    if (actor) sessionStorage.setItem(ACTOR, actor); else sessionStorage.removeItem(ACTOR);
  },
  signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ACTOR); },
};

export const enc = encodeURIComponent;

export async function api(method, path, { body, revision, key } = {}) {
  const headers = { "x-api-key": key ?? session.key ?? "" };
  if (session.actor) headers["x-ocp-actor"] = session.actor;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (revision !== undefined && revision !== null) headers["if-match"] = String(revision);
  let response;
  try {
    response = await fetch(apiBase + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, "network_error", `cannot reach the API at ${apiBase || location.origin}: ${error.message}`);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const problem = data && data.error;
    throw new ApiError(response.status, problem?.code ?? "http_error",
      problem?.message ?? `${response.status} ${response.statusText}`, problem?.details);
  }
  return data;
}
