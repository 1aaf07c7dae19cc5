// Small DOM helpers: build elements, format money and times, show the API's errors.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A labelled form field: `<div><label for=…>Text</label><input id=…></div>` (the label names only the
 * control, whose value stays out of its name); returns [wrapper, control]. */
export function field(text, control) {
  const id = control.id || `f-${text.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  control.id = id;
  return [h("div", { class: "field" }, h("label", { for: id }, text), control), control];
}

export function input(attrs = {}) { return h("input", { type: "text", ...attrs }); }

export function select(options, attrs = {}) {
  return h("select", attrs, options.map(([value, text]) => h("option", { value }, text ?? value)));
}

/** Integer minor units (fen) as "608.00" (the currency's two decimals). */
export function money(minor, currency = "CNY") {
  if (minor === null || minor === undefined) return "—";
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")} ${currency}`;
}

export function time(iso) { return iso ? iso.replace("T", " ").replace("Z", " UTC") : "—"; }

/** How long ago an ISO time was, as "3 h 12 min". */
export function age(iso, now = Date.now()) {
  if (!iso) return "—";
  const minutes = Math.max(0, Math.round((now - Date.parse(iso)) / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function orderLink(orderId) { return h("a", { href: `#/order/${encodeURIComponent(orderId)}`, class: "id" }, orderId); }

const flash = () => document.getElementById("flash");

/** The API's message (never a blank page); `details` listed when they are a list of problems. */
export function showError(error) {
  const box = flash();
  box.className = "flash error";
  box.replaceChildren(h("strong", {}, error.code ? `${error.code}: ` : "Error: "), error.message ?? String(error));
  const details = problems(error.details);
  if (details.length) box.append(h("ul", {}, details.map((d) => h("li", {}, d))));
  box.hidden = false;
}

export function showNotice(text) {
  const box = flash();
  box.className = "flash notice";
  box.replaceChildren(text);
  box.hidden = false;
}

export function clearFlash() { flash().hidden = true; }

/** The contract's problem lists (`[{path|field, problem|reason}]`) as readable lines. */
export function problems(details) {
  if (!Array.isArray(details)) return [];
  return details.map((d) => (typeof d === "object" && d
    ? `${d.path ?? d.field ?? d.line_id ?? d.sku ?? ""}${d.path || d.field ? ": " : ""}${d.problem ?? d.reason ?? d.code ?? JSON.stringify(d)}`
    : String(d)));
}

/** Runs an action, shows its error instead of throwing; returns its result or undefined. */
export async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  }
}

export function table(headers, rows, attrs = {}) {
  return h("table", attrs,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows));
}
