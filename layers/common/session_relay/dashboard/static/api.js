// The REST API (PROTOCOL.md section 1), called relative to the page: under an API Gateway stage the
// page is …/prod/dashboard and every call goes to …/prod/…, never to the host's root or another host.
const BASE = new URL(".", document.baseURI);
export const MAX_IDS_PER_CALL = 1000; // session_ids: 1..1000 per bulk call

// roblox_id, place_id and responses may hold integers beyond 2^53: keep their exact digits (the
// reviver's third argument is the value's source text) so they display and round-trip unchanged.
function exact(_key, value, context) {
  if (
    typeof value === "number" && !Number.isSafeInteger(value) && context && typeof context.source === "string"
    && /^-?\d+$/.test(context.source) && typeof JSON.rawJSON === "function"
  ) {
    return JSON.rawJSON(context.source);
  }
  return value;
}

export function parseExact(text) {
  return JSON.parse(text, exact);
}

/** The JSON text of a value parsed by parseExact (exact digits kept). */
export function jsonText(value) {
  return JSON.stringify(value);
}

/** A session field as text: strings as they are, numbers with every digit. */
export function fieldText(value) {
  if (value === null || value === undefined) return "";
  if (typeof JSON.isRawJSON === "function" && JSON.isRawJSON(value)) return value.rawJSON;
  return String(value);
}

/** A failed call: ``message`` is the API's own sentence whenever it gave one. */
export class ApiError extends Error {
  constructor(status, message, retryAfter) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

function sentence(response, document) {
  if (document && typeof document.error === "string") return document.error;
  // API Gateway's own answers (throttling, timeouts) are {"message": "..."}.
  if (document && typeof document.message === "string") return `${document.message} (HTTP ${response.status})`;
  return `the API answered HTTP ${response.status} ${response.statusText}`.trim();
}

/** A visible-ASCII key, or an ApiError saying why not (fetch refuses other header characters). */
export function checkKey(key) {
  if (!key) throw new ApiError(0, "Enter an API key first.");
  if (!/^[\x21-\x7e]+$/.test(key)) throw new ApiError(0, "An API key is visible ASCII characters only.");
}

export async function call(key, method, path, body) {
  checkKey(key);
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(new URL(path, BASE), {
      method, headers, body, cache: "no-store", credentials: "omit", redirect: "error", referrerPolicy: "no-referrer",
    });
  } catch (error) {
    throw new ApiError(0, `The API could not be reached (${error.message}).`);
  }
  const text = await response.text();
  let document = null;
  try {
    document = parseExact(text);
  } catch {
    document = null;
  }
  if (response.ok && document && document.success === true) return document;
  throw new ApiError(response.status, sentence(response, document), response.headers.get("Retry-After"));
}

/** What the key may do: {id, name, scripts, scopes} (PROTOCOL.md section 1, "Extension: scopes"). A
 * deployment older than ``GET /key`` answers 404. */
export async function describeKey(key) {
  return (await call(key, "GET", "key")).key;
}

/** One page of the caller's live sessions, newest first: {sessions, next_cursor}. */
export function listSessions(key, filters, limit, cursor) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value !== "") query.set(name, value);
  query.set("limit", String(limit));
  if (cursor) query.set("cursor", cursor);
  return call(key, "GET", `sessions?${query}`);
}

/** The body of a message call. ``dataText`` is JSON the caller checked; it is sent as written, so
 * big integers and the difference between [] and {} survive exactly. */
function messageBody(fields, extra) {
  const parts = [`"key":${JSON.stringify(fields.key)}`];
  if (fields.dataText !== "") parts.push(`"data":${fields.dataText}`);
  if (fields.timeout !== undefined) parts.push(`"timeout":${JSON.stringify(fields.timeout)}`);
  return `{${[...extra, ...parts].join(",")}}`;
}

export function messageOne(key, sessionId, fields) {
  return call(key, "POST", `sessions/${encodeURIComponent(sessionId)}/message`, messageBody(fields, []));
}

/** One bulk call (at most MAX_IDS_PER_CALL ids): {responses: [...]} in request order. */
export function messageMany(key, sessionIds, fields) {
  return call(key, "POST", "sessions/message", messageBody(fields, [`"session_ids":${JSON.stringify(sessionIds)}`]));
}

/** Ban ``userKey`` from ``scriptId`` (PROTOCOL.md section 1, "Extension: bans"): {ban, disconnected}. */
export function banUser(key, scriptId, userKey) {
  return call(key, "POST", "bans", JSON.stringify({ script_id: scriptId, user_key: userKey }));
}

/** Disconnect every id, MAX_IDS_PER_CALL at a time; resolves to the ids disconnected. */
export async function disconnectAll(key, sessionIds) {
  const disconnected = [];
  for (let start = 0; start < sessionIds.length; start += MAX_IDS_PER_CALL) {
    const chunk = sessionIds.slice(start, start + MAX_IDS_PER_CALL);
    const answer = await call(key, "POST", "sessions/disconnect", JSON.stringify({ session_ids: chunk }));
    disconnected.push(...(answer.disconnected || []));
  }
  return disconnected;
}
