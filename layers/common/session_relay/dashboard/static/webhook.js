// The "Webhook" section (PROTOCOL.md section 5): a script's webhook (URL, events, last delivery,
// failures count), "Send test" and "Replay failures". Every call needs the "manage" scope; the API's own
// sentence is shown when it refuses. Text only (textContent): the page's CSP allows no HTML injection.
import { call, describeKey, fieldText } from "./api.js";

const $ = (id) => document.getElementById(id);
const KEY_ITEM = "session-relay.api-key"; // where app.js keeps the key for this tab

function key() {
  return $("api-key").value.trim() || sessionStorage.getItem(KEY_ITEM) || "";
}

function script() {
  return $("webhook-script").value.trim();
}

function path(tail = "") {
  return `scripts/${encodeURIComponent(script())}/webhook${tail}`;
}

function say(text) {
  $("webhook-status").textContent = text;
}

function show(id, text) {
  $(id).textContent = text;
}

function lastDelivery(last) {
  if (!last) return "none yet";
  const when = new Date(last.at).toISOString().replace("T", " ").slice(0, 19);
  return `${last.status ?? "not reached"}${last.error ? ` (${last.error})` : ""} at ${when} UTC`;
}

function clear(text) {
  for (const id of ["webhook-url", "webhook-events", "webhook-last", "webhook-failures"]) show(id, "");
  $("send-test").disabled = true;
  $("replay-failures").disabled = true;
  say(text);
}

/** Show the script's webhook and how many failures it has. */
async function load() {
  if (!key() || !script()) return clear("");
  let hook;
  try {
    hook = (await call(key(), "GET", path())).webhook;
  } catch (error) {
    return clear(error.status === 404 ? `No webhook for ${script()}.` : error.message);
  }
  show("webhook-url", fieldText(hook.url));
  show("webhook-events", hook.events.join(", "));
  show("webhook-last", lastDelivery(hook.last_delivery));
  $("send-test").disabled = false;
  $("replay-failures").disabled = false;
  say("");
  try {
    const page = await call(key(), "GET", path("/failures?limit=1000"));
    show("webhook-failures", `${page.failures.length}${page.next_cursor ? "+" : ""}`);
  } catch (error) {
    show("webhook-failures", "unknown");
    say(error.message);
  }
}

async function sendTest() {
  say("Sending a test event…");
  let answer;
  try {
    answer = await call(key(), "POST", path("/test"));
  } catch (error) {
    say(error.message);
    return;
  }
  await load();
  say(answer.delivered ? `Test delivered (HTTP ${answer.status}, ${answer.ms} ms).`
    : `Test not delivered: ${answer.error}`);
}

async function replay() {
  try {
    const answer = await call(key(), "POST", path("/failures/replay"));
    await load();
    say(`${answer.replayed} event${answer.replayed === 1 ? "" : "s"} sent again.`);
  } catch (error) {
    say(error.message);
  }
}

/** The first script of the key, when the field is still empty. */
async function suggestScript() {
  if (script() || !key()) return;
  try {
    const info = await describeKey(key());
    if (Array.isArray(info.scripts) && info.scripts.length && !script()) $("webhook-script").value = info.scripts[0];
  } catch {
    // the listing shows what is wrong with the key
  }
}

async function refresh() {
  await suggestScript();
  await load();
}

/** Wire the section (app.js calls this once the page is set up). */
export function startWebhookSection() {
  $("filters").addEventListener("submit", () => { refresh(); });
  $("webhook-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("send-test").addEventListener("click", sendTest);
  $("replay-failures").addEventListener("click", replay);
  clear("");
  if (key()) refresh();
}
