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

// Who this browser is signed in as, or null.
export async function currentSession() {
  const session = await api("GET", "/v1/session", undefined, { signInOn401: false });
  return session.signed_in ? session : null;
}

// End the session; nothing personal stays on a shared phone (the last balance and history
// kept for offline use go too). Gives the provider's sign-out page, if it has one.
export async function signOut() {
  const answer = await api("POST", "/v1/session/sign-out", undefined, { signInOn401: false });
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith("aizu.wallet")) localStorage.removeItem(key);
  }
  return (answer && answer.end_session_url) || null;
}

// Whether a try is over for good: the service answered, yes or a refusal. A dropped
// connection, a 5xx or "too many, wait" leaves the outcome unknown.
function isFinal(error) {
  return error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429;
}

// One change a person asked for, however often it is sent: its body is built once (`build`,
// null when the input is not right) and every try sends that body with the same
// Idempotency-Key (`send(body, key)`) until the service gives a final answer, so a try after a
// lost answer is answered once, never done twice; only a refusal lets the next try be new.
export function oneChange(build, send) {
  let pending = null; // { key, body } until a final answer
  let busy = false;
  const attempt = async () => {
    if (busy) return undefined;
    busy = true;
    try {
      if (pending === null) {
        const body = await build();
        if (body === null) return null;
        pending = { key: newKey(), body };
      }
      const answer = await send(pending.body, pending.key);
      pending = null;
      return answer;
    } catch (error) {
      if (isFinal(error)) pending = null;
      throw error;
    } finally {
      busy = false;
    }
  };
  // The body sent whose answer is not known yet, or null.
  attempt.unanswered = () => (pending === null ? null : pending.body);
  // A new change (another code scanned, say): the next try is new.
  attempt.reset = () => {
    pending = null;
  };
  return attempt;
}

// `oneChange` for a form: its buttons are off while a try is under way, and while the outcome
// is unknown its fields show what was sent and cannot be changed.
export function formChange(form, build, send) {
  const change = oneChange(build, send);
  const lock = () => {
    for (const field of form.querySelectorAll("input")) field.readOnly = change.unanswered() !== null;
  };
  const attempt = async () => {
    const buttons = [...form.querySelectorAll("button")];
    for (const button of buttons) button.disabled = true;
    try {
      return await change();
    } finally {
      for (const button of buttons) button.disabled = false;
      lock();
    }
  };
  attempt.reset = () => {
    change.reset();
    lock();
  };
  return attempt;
}
