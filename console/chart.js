// A stock-over-time chart drawn as inline SVG (no library): step lines for on hand and available.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The ledger's running totals: one point per movement, oldest first. */
export function stockSeries(entries) {
  const sorted = [...entries].sort((a, b) => a.at.localeCompare(b.at));
  let onHand = 0;
  let available = 0;
  return sorted.map((e) => {
    onHand += e.delta_on_hand ?? 0;
    available += e.delta_available ?? 0;
    return { at: Date.parse(e.at), onHand, available };
  });
}

export function stockChart(points, { width = 720, height = 220 } = {}) {
  const pad = { left: 48, right: 16, top: 16, bottom: 28 };
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "stock over time" });
  if (!points.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no movements yet"));
    return root;
  }
  const t0 = points[0].at;
  const t1 = Math.max(points[points.length - 1].at, t0 + 1000);
  const top = Math.max(1, ...points.map((p) => Math.max(p.onHand, p.available)));
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (Math.max(v, 0) / top) * (height - pad.top - pad.bottom);
  // A step line: the level holds until the next movement, then jumps.
  const step = (key) => points.map((p, i) => (i
    ? `H${x(p.at).toFixed(1)} V${y(p[key]).toFixed(1)}`
    : `M${x(p.at).toFixed(1)} ${y(p[key]).toFixed(1)}`)).join(" ");
  root.append(
    svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "axis" }),
    svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0), class: "axis" }),
    svg("text", { x: pad.left - 6, y: y(top) + 4, "text-anchor": "end" }, top),
    svg("text", { x: pad.left - 6, y: y(0) + 4, "text-anchor": "end" }, 0),
    svg("text", { x: pad.left, y: height - 8 }, new Date(t0).toISOString().slice(0, 19).replace("T", " ")),
    svg("text", { x: width - pad.right, y: height - 8, "text-anchor": "end" }, new Date(t1).toISOString().slice(0, 19).replace("T", " ")),
    svg("path", { d: step("onHand"), class: "on-hand" }),
    svg("path", { d: step("available"), class: "available" }),
    svg("text", { x: width - pad.right, y: pad.top, "text-anchor": "end", class: "legend" }, "— on hand  — available"),
  );
  return root;
}
