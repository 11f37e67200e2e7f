// Counts of sessions per place and per job, drawn as bars (CSS widths set through the CSSOM, which a
// style-src 'self' policy allows: https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Content-Security-Policy/style-src).
import { fieldText } from "./api.js";

const SHOWN = 8; // bars per chart; the rest are summed into one "others" bar

export function countBy(sessions, field) {
  const counts = new Map();
  for (const session of sessions) {
    const value = fieldText(session[field]);
    counts.set(value, (counts.get(value) || 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (sorted.length <= SHOWN) return sorted.map(([label, count]) => ({ label, count, other: false }));
  const rest = sorted.slice(SHOWN - 1).reduce((sum, [, count]) => sum + count, 0);
  const top = sorted.slice(0, SHOWN - 1).map(([label, count]) => ({ label, count, other: false }));
  return [...top, { label: `${sorted.length - SHOWN + 1} others`, count: rest, other: true }];
}

/** Draw the counts of ``field`` into the figure's list, one bar per value (text only). */
export function drawCounts(figure, sessions, field) {
  const list = figure.querySelector("ol");
  const bars = countBy(sessions, field);
  const most = Math.max(1, ...bars.map((bar) => bar.count));
  const items = document.createDocumentFragment();
  for (const bar of bars) {
    const item = document.createElement("li");
    if (bar.other) item.className = "other";
    const label = document.createElement("span");
    label.className = "bar-label";
    label.textContent = bar.label;
    label.title = bar.label;
    const track = document.createElement("span");
    track.className = "bar-track";
    const fill = document.createElement("span");
    fill.className = "bar";
    fill.style.width = `${(100 * bar.count) / most}%`;
    track.append(fill);
    const count = document.createElement("span");
    count.className = "bar-count";
    count.textContent = String(bar.count);
    item.append(label, track, count);
    items.append(item);
  }
  list.replaceChildren(items);
  figure.hidden = bars.length === 0;
}
