// Broadcasts (PROTOCOL.md, "Extension: broadcasts"): the Broadcast button sends Function/Data/Timeout to
// every session matching the filters, however many; the list shows the key's broadcasts with their
// counts, refreshed until each is done, and a Cancel button on each one still running.
import { ApiError, call, fieldText } from "./api.js";

const $ = (id) => document.getElementById(id);
const KEY_ITEM = "session-relay.api-key"; // the key app.js keeps for this tab
const REFRESH_MS = 2000;
// Filter field -> its name in the API's filter object; ids are sent as the digits typed (exact).
const FILTERS = {
  "filter-script": "script_id", "filter-user-key": "user_key", "filter-job-id": "job_id",
  "filter-roblox-id": "roblox_id", "filter-place-id": "place_id",
};
const NUMERIC = new Set(["roblox_id", "place_id"]);
let timer = null;

function apiKey() {
  return $("api-key").value.trim() || sessionStorage.getItem(KEY_ITEM) || "";
}

function say(text) {
  $("broadcast-status").textContent = text;
}

/** The filter object as JSON text: the filter fields typed in, ids as the digits given. */
function filterText() {
  const parts = [];
  for (const [id, name] of Object.entries(FILTERS)) {
    const value = $(id).value.trim();
    if (value === "") continue;
    if (NUMERIC.has(name) && !/^[0-9]{1,19}$/.test(value)) throw new Error(`${name}: digits only.`);
    parts.push(`${JSON.stringify(name)}:${NUMERIC.has(name) ? value : JSON.stringify(value)}`);
  }
  return `{${parts.join(",")}}`;
}

function bodyText() {
  const key = $("function").value;
  if (!key) throw new Error("Function: enter the name of the function to run.");
  const parts = [`"filter":${filterText()}`, `"key":${JSON.stringify(key)}`];
  const data = $("data").value.trim();
  if (data !== "") {
    JSON.parse(data); // throws with the reason when it is not JSON
    parts.push(`"data":${data}`);
  }
  const timeout = $("timeout").value.trim();
  if (timeout !== "") parts.push(`"timeout":${JSON.stringify(Number(timeout))}`);
  return `{${parts.join(",")}}`;
}

async function onBroadcast() {
  let body;
  try {
    body = bodyText();
  } catch (error) {
    return say(error.message);
  }
  try {
    const answer = await call(apiKey(), "POST", "broadcasts/message", body);
    say(`Broadcast ${answer.broadcast_id} started.`);
    await refresh();
  } catch (error) {
    say(error instanceof ApiError ? error.message : String(error));
  }
}

function countsText(broadcast) {
  const counts = broadcast.counts || {};
  const parts = [];
  for (const [name, value] of Object.entries(counts)) {
    if (value && typeof value === "object") {
      for (const [reason, count] of Object.entries(value)) if (count) parts.push(`${reason}: ${count}`);
    } else {
      parts.push(`${name}: ${value}`);
    }
  }
  return parts.join(", ");
}

function row(broadcast) {
  const item = document.createElement("li");
  item.dataset.id = broadcast.id;
  const state = broadcast.done ? "done" : broadcast.cancelled ? "cancelling" : "running";
  const matched = broadcast.matched === null ? "finding sessions" : `${broadcast.matched} matched`;
  const text = document.createElement("span");
  text.textContent = `${fieldText(broadcast.id)} — ${broadcast.action} ${fieldText(broadcast.key || "")} — ` +
    `${state}, ${matched}; ${countsText(broadcast)}`;
  item.append(text);
  if (!broadcast.done && !broadcast.cancelled) {
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", `Cancel broadcast ${broadcast.id}`);
    cancel.addEventListener("click", () => onCancel(broadcast.id));
    item.append(" ", cancel);
  }
  return item;
}

async function onCancel(id) {
  try {
    await call(apiKey(), "POST", `broadcasts/${encodeURIComponent(id)}/cancel`);
    say(`Broadcast ${id} cancelled: no frame is sent from now on.`);
  } catch (error) {
    say(error.message);
  }
  await refresh();
}

/** The key's broadcasts, newest first; refreshed every 2 s while one is still running. */
async function refresh() {
  clearTimeout(timer);
  const key = apiKey();
  if (!key) return;
  let answer;
  try {
    answer = await call(key, "GET", "broadcasts?limit=25");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) say(error.message);
    return;
  }
  $("broadcast-list").replaceChildren(...answer.broadcasts.map(row));
  $("broadcasts-empty").hidden = answer.broadcasts.length > 0;
  if (answer.broadcasts.some((broadcast) => !broadcast.done)) timer = setTimeout(refresh, REFRESH_MS);
}

/** The Broadcast button follows the Message button: disabled, with the same reason, when the key's
 * scopes do not allow messages (app.js decides that for Message). */
function followMessageButton() {
  const message = $("message");
  const broadcast = $("broadcast");
  const copy = () => {
    broadcast.disabled = message.disabled;
    const described = message.getAttribute("aria-describedby");
    if (described) broadcast.setAttribute("aria-describedby", described);
    else broadcast.setAttribute("aria-describedby", "broadcast-hint");
  };
  new MutationObserver(copy).observe(message, { attributes: true });
  copy();
}

$("broadcast").addEventListener("click", onBroadcast);
$("refresh").addEventListener("click", () => setTimeout(refresh, 0));
$("filters").addEventListener("submit", () => setTimeout(refresh, 0));
followMessageButton();
refresh();
