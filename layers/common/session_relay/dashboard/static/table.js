// The sessions table. Identity fields are written by executors, so they are hostile: every value goes
// into the page as text (textContent, attributes), never as HTML. Selection and outcomes are kept by
// session id, so they survive refreshes, paging and re-renders. A row's Ban action (``Bans``, below).
import { banUser, fieldText, jsonText } from "./api.js";

const FIELDS = [
  ["id", "Session id"],
  ["user_key", "User key"],
  ["script_id", "Script"],
  ["roblox_id", "Roblox id"],
  ["place_id", "Place id"],
  ["job_id", "Job id"],
];

/** "42 s", "3 min 5 s", "2 h 10 min", "4 d 1 h". */
export function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** What a call's outcome looks like in a row: {kind, text}. */
export function outcomeOf(entry) {
  if (entry.processed === true) return { kind: "response", text: jsonText(entry.response) };
  if (entry.processed === false) return { kind: "reason", text: String(entry.reason) };
  return { kind: "error", text: String(entry) };
}

function cell(row, label, text, className) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

/** A session's declared functions as text: "echo, sleep"; "" for a session that never declared. */
export function functionsText(session) {
  return Array.isArray(session.functions) ? session.functions.map(fieldText).join(", ") : "";
}

export class SessionTable {
  /** ``rowActions(session)`` (optional) gives the elements of a row's last cell. */
  constructor(tbody, onSelection, rowActions = null) {
    this.tbody = tbody;
    this.onSelection = onSelection;
    this.rowActions = rowActions;
    this.sessions = [];
    this.selected = new Set();
    this.outcomes = new Map();
    this.outcomeCells = new Map();
    tbody.addEventListener("change", (event) => {
      const box = event.target;
      if (!(box instanceof HTMLInputElement) || !box.dataset.id) return;
      if (box.checked) this.selected.add(box.dataset.id);
      else this.selected.delete(box.dataset.id);
      this.onSelection();
    });
  }

  /** Replace the rows with ``sessions`` (newest first) in one DOM update. */
  render(sessions, nowMs) {
    this.sessions = sessions;
    const present = new Set(sessions.map((session) => session.id));
    for (const id of this.selected) if (!present.has(id)) this.selected.delete(id);
    this.outcomeCells = new Map();
    const rows = document.createDocumentFragment();
    for (const session of sessions) rows.append(this.row(session, nowMs));
    this.tbody.replaceChildren(rows);
    this.onSelection();
  }

  row(session, nowMs) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.className = "pick";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.dataset.id = session.id;
    box.setAttribute("aria-label", session.id);
    box.checked = this.selected.has(session.id);
    td.append(box);
    tr.append(td);
    for (const [field, label] of FIELDS) cell(tr, label, fieldText(session[field]), field === "id" ? "id" : "");
    const created = Number(fieldText(session.created_at));
    const age = cell(tr, "Age", formatAge(nowMs - created), "age");
    age.title = new Date(created).toISOString();
    cell(tr, "Function", functionsText(session), "functions");
    const outcome = cell(tr, "Outcome", "", "outcome");
    this.outcomeCells.set(session.id, outcome);
    this.paintOutcome(session.id);
    if (this.rowActions) cell(tr, "Actions", "", "row-actions").append(...this.rowActions(session));
    return tr;
  }

  setOutcome(id, outcome) {
    this.outcomes.set(id, outcome);
    this.paintOutcome(id);
  }

  paintOutcome(id) {
    const target = this.outcomeCells.get(id);
    if (!target) return;
    const outcome = this.outcomes.get(id);
    target.textContent = outcome ? outcome.text : "";
    target.dataset.kind = outcome ? outcome.kind : "";
  }

  /** Select or clear every listed session. */
  selectAll(checked) {
    for (const session of this.sessions) {
      if (checked) this.selected.add(session.id);
      else this.selected.delete(session.id);
    }
    for (const box of this.tbody.querySelectorAll("input[type=checkbox]")) box.checked = checked;
    this.onSelection();
  }

  selectedIds() {
    // In listing order (newest first), which is also the order outcomes are asked for.
    return this.sessions.map((session) => session.id).filter((id) => this.selected.has(id));
  }
}

// ---------------------------------------------------------------- a row's Ban action

// PROTOCOL.md section 4: asks first, then bans that session's user key for its script (POST /bans), which
// also closes every live session of that user of the script; its handshakes for the script are refused
// from then until the ban is lifted.
const byId = (id) => document.getElementById(id);
// PROTOCOL.md section 1, "Extension: scopes": creating bans takes the "disconnect" scope.
const SCOPE = "disconnect";

export class Bans {
  /** ``key()`` is the API key in use, ``say(text)`` shows the outcome, ``failure(error)`` words a failed
   * call, ``after()`` runs once a ban is made (a new listing: the user's sessions are gone). */
  constructor({ key, say, failure, after }) {
    Object.assign(this, { key, say, failure, after });
    this.denied = "";
    this.pending = null;
    byId("ban-yes").addEventListener("click", () => this.confirm());
    byId("ban-no").addEventListener("click", () => byId("confirm-ban").close());
  }

  /** The elements of a row's action cell: its Ban button. */
  buttonFor(session) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "danger ban";
    button.textContent = "Ban";
    button.addEventListener("click", () => this.ask(session));
    this.paint(button);
    return [button];
  }

  /** Disable every Ban button when ``scopes`` do not allow bans, with why as its description; ``null`` (not
   * known) disables nothing: the API still refuses what the key may not do. */
  allow(scopes) {
    const denied = scopes !== null && !scopes.includes(SCOPE);
    const has = denied ? scopes.join(", ") || "none" : "";
    this.denied = denied ? `This API key may not ban users (it needs the "${SCOPE}" scope; it has: ${has}).` : "";
    byId("ban-denied").textContent = this.denied;
    byId("ban-denied").hidden = !denied;
    for (const button of document.querySelectorAll("button.ban")) this.paint(button);
  }

  paint(button) {
    button.disabled = Boolean(this.denied);
    if (this.denied) {
      button.setAttribute("aria-describedby", "ban-denied");
      button.title = this.denied;
    } else {
      button.removeAttribute("aria-describedby");
      button.removeAttribute("title");
    }
  }

  ask(session) {
    if (this.denied) return void this.say(this.denied);
    this.pending = { scriptId: fieldText(session.script_id), userKey: fieldText(session.user_key) };
    byId("ban-text").textContent =
      `This bans user key "${this.pending.userKey}" from script ${this.pending.scriptId}: its live sessions are ` +
      "closed now, and it cannot connect again until the ban is lifted.";
    byId("confirm-ban").showModal();
  }

  async confirm() {
    byId("confirm-ban").close();
    const target = this.pending;
    this.pending = null;
    if (!target) return;
    this.say(`Banning user key "${target.userKey}"…`);
    try {
      const answer = await banUser(this.key(), target.scriptId, target.userKey);
      const closed = (answer.disconnected || []).length;
      this.say(
        `Banned user key "${target.userKey}" from script ${target.scriptId}; ` +
          `disconnected ${closed} session${closed === 1 ? "" : "s"}.`,
      );
    } catch (error) {
      this.say(this.failure(error));
    }
    await this.after();
  }
}
