// The dashboard's controls: API key (and what it may do), listing with filters and paging, auto-refresh,
// Message, Disconnect; a row's Ban action (``Bans`` in table.js).
import {
  ApiError,
  MAX_IDS_PER_CALL,
  checkKey,
  describeKey,
  disconnectAll,
  fieldText,
  listSessions,
  messageMany,
  messageOne,
} from "./api.js";
import { drawCounts } from "./chart.js";
import { Bans, SessionTable, outcomeOf } from "./table.js";
import { startWebhookSection } from "./webhook.js";

const KEY_ITEM = "session-relay.api-key"; // in sessionStorage: kept for this tab only
const REFRESH_EVERY_MS = 5000;
// Up to SINGLE_CALLS_UP_TO selected sessions: one call per session, SINGLE_IN_FLIGHT at once (a browser's
// connections per host), so each row fills the moment its own answer arrives. More: bulk calls of
// 100..1000 ids, BULK_IN_FLIGHT at once: each waiting call holds one Lambda execution for its whole wait,
// and one bulk call polls all its sessions together (BatchGetItem), so few large calls cost the least.
const SINGLE_CALLS_UP_TO = 60;
const SINGLE_IN_FLIGHT = 6;
const BULK_IN_FLIGHT = 2;
const BULK_AT_LEAST = 100;

const $ = (id) => document.getElementById(id);
const FILTERS = {
  script_id: $("filter-script"),
  user_key: $("filter-user-key"),
  roblox_id: $("filter-roblox-id"),
  place_id: $("filter-place-id"),
  job_id: $("filter-job-id"),
};

const state = {
  key: "", // the key in use: the one typed into the field when Refresh or Enter was last pressed
  scopesFor: null, // the key whose scopes are shown or being asked for
  wanted: 0,
  cursor: null,
  generation: 0,
  loading: false,
  asked: "",
  timer: 0,
  busy: false,
};
const bans = new Bans({
  key: () => state.key,
  say: (text) => void ($("command-status").textContent = text),
  failure: (error) => failure(error),
  after: () => reload(),
});
const table = new SessionTable($("sessions").tBodies[0], showSelection, (session) => bans.buttonFor(session));

function showStatus(text) {
  $("status").textContent = text;
  $("status").hidden = !text;
}

function failure(error) {
  if (!(error instanceof ApiError) || !error.status) return error.message;
  const wait = error.retryAfter ? ` Retry after ${error.retryAfter} s.` : "";
  return `${error.message}${wait}`;
}

function showSelection() {
  const count = table.selected.size;
  $("selection").textContent = `${count} selected`;
  const all = $("select-all");
  all.checked = count > 0 && count === table.sessions.length;
  all.indeterminate = count > 0 && count < table.sessions.length;
}

function filters() {
  return Object.fromEntries(Object.entries(FILTERS).map(([name, input]) => [name, input.value.trim()]));
}

function pageSize() {
  return Number($("page-size").value);
}

// ---------------------------------------------------------------- listing

function clearListing() {
  show([], null);
  $("summary").textContent = "";
}

function show(sessions, cursor) {
  table.render(sessions, Date.now());
  drawCounts($("per-place"), sessions, "place_id");
  drawCounts($("per-job"), sessions, "job_id");
  state.cursor = cursor;
  $("load-more").hidden = !cursor;
  const more = cursor ? " (more match: Load more)" : "";
  $("summary").textContent = `${sessions.length} live session${sessions.length === 1 ? "" : "s"} shown${more}`;
}

/** Fetch the first ``wanted`` sessions again (as many pages as were shown) and show them. The same
 * listing already on its way is not asked for twice (a filter's change and the Refresh click that
 * caused it arrive together); a different one replaces it. */
async function reload(wanted = Math.max(state.wanted, pageSize())) {
  learnScopes(state.key);
  const query = filters();
  const ask = JSON.stringify([state.key, query, wanted]);
  if (state.loading && state.asked === ask) return;
  const generation = ++state.generation;
  state.loading = true;
  state.asked = ask;
  try {
    const sessions = [];
    let cursor = null;
    do {
      const page = await listSessions(state.key, query, Math.min(MAX_IDS_PER_CALL, wanted - sessions.length), cursor);
      sessions.push(...page.sessions);
      cursor = page.next_cursor;
    } while (cursor && sessions.length < wanted && generation === state.generation);
    if (generation !== state.generation) return;
    state.wanted = wanted;
    show(sessions, cursor);
    showStatus("");
  } catch (error) {
    if (generation !== state.generation) return;
    if (error.status === 401) show([], null); // a refused key sees nothing; else keep what is shown
    showStatus(failure(error));
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      schedule();
    }
  }
}

async function loadMore() {
  if (!state.cursor) return;
  const generation = ++state.generation;
  state.loading = true;
  state.asked = "";
  try {
    const page = await listSessions(state.key, filters(), pageSize(), state.cursor);
    if (generation !== state.generation) return;
    const sessions = [...table.sessions, ...page.sessions];
    state.wanted = sessions.length;
    show(sessions, page.next_cursor);
  } catch (error) {
    if (generation === state.generation) showStatus(failure(error));
  } finally {
    if (generation === state.generation) {
      state.loading = false;
      schedule();
    }
  }
}

function schedule() {
  clearTimeout(state.timer);
  if ($("auto-refresh").checked && state.key) {
    state.timer = setTimeout(() => {
      // Not while hidden, loading, or a command runs (its answers arrive into the rows shown).
      if (!document.hidden && !state.loading && !state.busy) reload();
      else schedule();
    }, REFRESH_EVERY_MS);
  }
}

// ---------------------------------------------------------------- commands

/** Run ``work`` over ``items`` with at most ``inFlight`` at once. */
async function eachLimited(items, inFlight, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
}

function messageFields() {
  const key = $("function").value;
  if (!key) throw new Error("Function: enter the name of the function to run.");
  const dataText = $("data").value.trim();
  if (dataText !== "") {
    try {
      JSON.parse(dataText);
    } catch (error) {
      throw new Error(`Data is not valid JSON: ${error.message}`);
    }
  }
  const timeoutText = $("timeout").value.trim();
  const timeout = timeoutText === "" ? undefined : Number(timeoutText);
  if (timeout !== undefined && !Number.isFinite(timeout)) throw new Error("Timeout must be a number of seconds.");
  return { key, dataText, timeout };
}

// An error that says nothing about one session (bad key, bad body, throttled, unavailable) stops the
// remaining calls: they would all fail the same way.
const stopsEverything = (error) => !(error instanceof ApiError) || error.status !== 404;

async function sendMessages(ids, fields) {
  let stopped = null;
  const fail = (targets, error) => {
    for (const id of targets) table.setOutcome(id, { kind: "error", text: failure(error) });
    if (stopsEverything(error)) stopped = stopped || error;
  };
  const skip = (targets) => {
    for (const id of targets) table.setOutcome(id, { kind: "error", text: `not sent: ${failure(stopped)}` });
  };
  if (ids.length <= SINGLE_CALLS_UP_TO) {
    // Each row fills the moment its own answer arrives.
    await eachLimited(ids, SINGLE_IN_FLIGHT, async (id) => {
      if (stopped) return skip([id]);
      try {
        table.setOutcome(id, outcomeOf(await messageOne(state.key, id, fields)));
      } catch (error) {
        fail([id], error);
      }
    });
  } else {
    // One Lambda invocation answers a whole chunk; rows fill chunk by chunk.
    const size = Math.min(MAX_IDS_PER_CALL, Math.max(BULK_AT_LEAST, Math.ceil(ids.length / BULK_IN_FLIGHT)));
    const chunks = [];
    for (let start = 0; start < ids.length; start += size) chunks.push(ids.slice(start, start + size));
    await eachLimited(chunks, BULK_IN_FLIGHT, async (chunk) => {
      if (stopped) return skip(chunk);
      try {
        const answer = await messageMany(state.key, chunk, fields);
        answer.responses.forEach((entry, index) => table.setOutcome(chunk[index], outcomeOf(entry)));
      } catch (error) {
        fail(chunk, error);
      }
    });
  }
  return stopped;
}

async function onMessage(event) {
  event.preventDefault();
  const ids = table.selectedIds();
  const status = $("command-status");
  if (ids.length === 0) return void (status.textContent = "Select at least one session first.");
  let fields;
  try {
    fields = messageFields();
  } catch (error) {
    return void (status.textContent = error.message);
  }
  if ($("message").disabled) return void (status.textContent = $("message-denied").textContent);
  if (state.busy) return void (status.textContent = "A command is still running.");
  state.busy = true;
  for (const id of ids) table.setOutcome(id, { kind: "pending", text: "waiting…" });
  status.textContent = `Messaging ${ids.length} session${ids.length === 1 ? "" : "s"}…`;
  try {
    const stopped = await sendMessages(ids, fields);
    status.textContent = stopped ? failure(stopped) : `Answered: ${ids.length} of ${ids.length}.`;
  } finally {
    state.busy = false;
  }
}

function onDisconnect() {
  const ids = table.selectedIds();
  if (ids.length === 0) return void ($("command-status").textContent = "Select at least one session first.");
  const many = ids.length === 1 ? "the selected session" : `the ${ids.length} selected sessions`;
  $("confirm-text").textContent = `This closes ${many}; their scripts stop listening.`;
  $("confirm-disconnect").showModal();
}

async function confirmDisconnect() {
  $("confirm-disconnect").close();
  const ids = table.selectedIds();
  const status = $("command-status");
  status.textContent = `Disconnecting ${ids.length}…`;
  try {
    const gone = await disconnectAll(state.key, ids);
    status.textContent = `Disconnected ${gone.length} session${gone.length === 1 ? "" : "s"}.`;
  } catch (error) {
    status.textContent = failure(error);
  }
  await reload();
}

// ---------------------------------------------------------------- what the key may do

// PROTOCOL.md section 1, "Extension: scopes": a key issued without naming scopes has all four.
const ALL_SCOPES = ["read", "message", "disconnect", "manage"];
// Each command's button, the scope it needs and what it does, as the API's own 403 sentence says it.
const COMMANDS = [
  { button: "message", scope: "message", action: "message sessions" },
  { button: "disconnect", scope: "disconnect", action: "disconnect sessions" },
];

/** Disable each command ``scopes`` do not allow, described (visibly, and as the button's description) by
 * why; ``null`` (not known) disables nothing: the API still refuses what the key may not do. */
function allowCommands(scopes) {
  for (const { button, scope, action } of COMMANDS) {
    const control = $(button);
    const note = $(`${button}-denied`);
    const denied = scopes !== null && !scopes.includes(scope);
    const has = denied ? scopes.join(", ") || "none" : "";
    const reason = `This API key may not ${action} (it needs the "${scope}" scope; it has: ${has}).`;
    note.textContent = denied ? reason : "";
    note.hidden = !denied;
    control.disabled = denied;
    if (denied) {
      control.setAttribute("aria-describedby", note.id);
      control.title = note.textContent;
    } else {
      control.removeAttribute("aria-describedby");
      control.removeAttribute("title");
    }
  }
  bans.allow(scopes);
}

/** A line on what the key in use may do: ``text`` as it is, or the key's name, scripts and scopes. */
function showKeyInfo(info, scopes, text = "") {
  const line = $("key-info");
  if (info) {
    const scripts = Array.isArray(info.scripts) ? info.scripts.map(fieldText).join(", ") : "";
    text = `Key "${fieldText(info.name)}": scripts ${scripts || "none"}; scopes ${scopes.join(", ")}.`;
  }
  line.textContent = text;
  line.hidden = !text;
}

/** Ask ``GET /key`` what ``key`` may do, once per key; again at the next listing after a failure that says
 * nothing about the key (unreachable, unavailable). A deployment older than that route answers 404: its
 * keys may do everything. */
async function learnScopes(key) {
  if (!key || state.scopesFor === key) return;
  state.scopesFor = key;
  let info = null;
  let scopes = null;
  let text = "";
  try {
    info = await describeKey(key);
    scopes = info && Array.isArray(info.scopes) ? info.scopes.map(String) : ALL_SCOPES;
  } catch (error) {
    if (error.status === 404) {
      scopes = ALL_SCOPES;
      text = "This deployment does not say what a key may do (it has no GET /key): every command is offered.";
    } else if (error.status !== 401 && state.scopesFor === key) {
      state.scopesFor = null;
    }
    // (a refused key: the listing shows the API's sentence)
  }
  if (state.key !== key) return;
  showKeyInfo(info, scopes, text);
  allowCommands(scopes);
}

// ---------------------------------------------------------------- the key

/** Stop using any key: nothing is listed or refreshed until one is given. */
function dropKey() {
  sessionStorage.removeItem(KEY_ITEM);
  state.key = "";
  state.scopesFor = null;
  state.generation++;
  state.loading = false;
  clearTimeout(state.timer);
  showKeyInfo(null);
  allowCommands(null);
  clearListing();
}

/** Use the key typed into the field (kept for this tab only); a new key starts again from one page. True
 * when there is a usable key; otherwise the reason is shown, unless ``quiet``. */
function takeTypedKey(quiet) {
  const typed = $("api-key").value.trim();
  try {
    checkKey(typed);
  } catch (error) {
    if (quiet) return false;
    dropKey();
    showStatus(error.message);
    return false;
  }
  if (typed !== state.key) {
    dropKey();
    state.key = typed;
    state.wanted = 0;
    sessionStorage.setItem(KEY_ITEM, typed);
    showStatus("");
  }
  return true;
}

// ---------------------------------------------------------------- wiring

$("forget-key").addEventListener("click", () => {
  dropKey();
  $("api-key").value = "";
  showStatus("");
});
// Refresh, and Enter in any field of the filters form, the key field included (it belongs to that form).
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  if (takeTypedKey(false)) reload();
});
// Another filter or page size starts again from one page (a Refresh keeps as many as are shown).
for (const input of [...Object.values(FILTERS), $("page-size")]) {
  input.addEventListener("change", () => {
    state.wanted = 0;
    if (takeTypedKey(true)) reload();
  });
}
$("auto-refresh").addEventListener("change", schedule);
$("load-more").addEventListener("click", loadMore);
$("select-all").addEventListener("change", (event) => table.selectAll(event.target.checked));
$("message-form").addEventListener("submit", onMessage);
$("disconnect").addEventListener("click", onDisconnect);
$("confirm-yes").addEventListener("click", confirmDisconnect);
$("confirm-no").addEventListener("click", () => $("confirm-disconnect").close());

const saved = sessionStorage.getItem(KEY_ITEM);
if (saved) {
  $("api-key").value = saved;
  if (takeTypedKey(false)) reload();
}
startWebhookSection();
