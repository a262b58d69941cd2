// The public /v1 API, as the pages call it: the session cookie goes with every request (the
// token never reaches a script), a change carries an Idempotency-Key so that a retry after a
// dropped connection is answered once, and a refusal becomes an ApiError with its stable code.

export class ApiError extends Error {
  constructor(status, code, detail, body) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function newKey() {
  return crypto.randomUUID();
}

export async function api(method, path, body, { key, signInOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD") {
    headers["Idempotency-Key"] = key || newKey();
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "offline", String(error));
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (response.ok) return data;
  if (response.status === 401 && signInOn401) {
    signIn();
  }
  const code = (data && data.code) || "http_" + response.status;
  throw new ApiError(response.status, code, data && data.detail, data);
}

export function signIn() {
  const next = location.pathname + location.hash;
  location.assign("/v1/session/sign-in?next=" + encodeURIComponent(next));
}

export async function signOut() {
  await api("POST", "/v1/session/sign-out", undefined, { signInOn401: false });
}

// Who this browser is signed in as, or null.
export async function currentSession() {
  const session = await api("GET", "/v1/session", undefined, { signInOn401: false });
  return session.signed_in ? session : null;
}
