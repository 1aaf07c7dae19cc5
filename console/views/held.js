// The held queue: filter, look at each order's holds, fix and release or cancel, one by one or in bulk,
// with j/k/r/c/x on the keyboard so one person can clear hundreds a day.
import { api, enc } from "../api.js";
import { age, attempt, field, h, input, money, orderLink, select, showNotice, table } from "../ui.js";

export const HOLD_REASONS = [
  "insufficient_stock", "address_unresolved", "phone_invalid", "price_abnormal", "duplicate_suspect",
  "blacklisted_buyer", "buyer_note", "customs_id_invalid", "presale_not_due", "unroutable",
  "purchase_limit_exceeded",
];
const CHANNELS = ["taobao", "jd", "douyin", "shopify"];

const state = { reason: "", channel: "", orders: [], nextToken: null, cursor: 0, selected: new Set(), warehouses: [] };
let keyHandler = null;
let root = null;

export async function render(container) {
  root = container;
  state.selected.clear();
  state.cursor = 0;
  if (!state.warehouses.length) {
    const listed = await attempt(() => api("GET", "/warehouses"));
    state.warehouses = (listed?.warehouses ?? []).filter((w) => w.active).map((w) => w.warehouse_id);
  }
  keyHandler = onKey;
  document.addEventListener("keydown", keyHandler);
  await load();
}

export function leave() {
  if (keyHandler) document.removeEventListener("keydown", keyHandler);
  keyHandler = null;
}

async function load(more = false) {
  const query = new URLSearchParams({ status: "held", limit: "50" });
  if (state.reason) query.set("reason", state.reason);
  if (more && state.nextToken) query.set("next_token", state.nextToken);
  const page = await attempt(() => api("GET", `/orders?${query}`));
  if (page) {
    state.orders = more ? state.orders.concat(page.orders) : page.orders;
    state.nextToken = page.next_token;
  }
  draw();
}

function visible() {
  return state.orders.filter((o) => !state.channel || o.channel === state.channel);
}

function draw() {
  const orders = visible();
  state.cursor = Math.min(state.cursor, Math.max(orders.length - 1, 0));
  const reason = select([["", "every reason"], ...HOLD_REASONS.map((r) => [r])], { name: "reason" });
  reason.value = state.reason;
  reason.addEventListener("change", () => { state.reason = reason.value; state.selected.clear(); load(); });
  const channel = select([["", "every channel"], ...CHANNELS.map((c) => [c])], { name: "channel" });
  channel.value = state.channel;
  channel.addEventListener("change", () => { state.channel = channel.value; draw(); });
  const chosen = [...state.selected];
  root.replaceChildren(
    h("h1", {}, "Held queue"),
    h("div", { class: "toolbar" },
      field("Reason", reason)[0], field("Channel", channel)[0],
      h("button", { type: "button", onclick: () => load() }, "Refresh"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", disabled: !chosen.length, onclick: () => bulk("release") },
        `Release selected (${chosen.length})`),
      h("button", { type: "button", class: "danger", disabled: !chosen.length, onclick: () => bulk("cancel") },
        `Cancel selected (${chosen.length})`)),
    h("p", { class: "shortcuts" }, "Keys: ", kbd("j"), " next · ", kbd("k"), " previous · ", kbd("r"), " release · ",
      kbd("c"), " cancel · ", kbd("x"), " select for bulk"),
    h("div", { class: "split" },
      h("section", { class: "list" },
        orders.length
          ? table(["", "Order", "Channel", "Held for", "Paid", "Holds"], orders.map(row), { class: "queue" })
          : h("p", { class: "muted" }, "No held orders here."),
        state.nextToken ? h("button", { type: "button", onclick: () => load(true) }, "Load more") : null),
      h("section", { class: "detail" }, orders[state.cursor] ? detail(orders[state.cursor]) : null)));
}

function kbd(key) { return h("kbd", {}, key); }

function row(order, index) {
  const box = h("input", { type: "checkbox", "aria-label": `select ${order.order_id}`, checked: state.selected.has(order.order_id) });
  box.addEventListener("change", () => { toggle(order.order_id); });
  return h("tr", {
    class: index === state.cursor ? "cursor" : "", dataset: { orderId: order.order_id },
    onclick: (event) => { if (event.target !== box) { state.cursor = index; draw(); } },
  },
  h("td", {}, box),
  h("td", {}, h("span", { class: "id" }, order.order_id), h("br"), h("small", {}, order.channel_order_name ?? order.channel_order_id)),
  h("td", {}, order.channel),
  h("td", { title: order.status_since }, age(order.status_since)),
  h("td", { class: "num" }, money(order.amounts.paid, order.currency)),
  h("td", {}, order.holds.map((hold) => h("span", { class: "chip" }, hold.reason))));
}

function toggle(orderId) {
  if (state.selected.has(orderId)) state.selected.delete(orderId); else state.selected.add(orderId);
  draw();
}

function detail(order) {
  const note = input({ name: "note", maxlength: 300 });
  return h("div", { class: "card", dataset: { orderId: order.order_id } },
    h("h2", {}, orderLink(order.order_id)),
    h("p", {}, `${order.channel} ${order.channel_order_id} · revision ${order.revision} · paid `,
      money(order.amounts.paid, order.currency), ` · warehouse ${order.warehouse ?? "none"}`),
    h("h3", {}, "Holds"),
    h("ul", { class: "holds" }, order.holds.map((hold) => h("li", {}, h("strong", {}, hold.reason), hold.detail ? `: ${hold.detail}` : "",
      hold.until ? ` (until ${hold.until})` : ""))),
    addressForm(order),
    warehouseForm(order),
    linesForm(order),
    h("div", { class: "actions" },
      field("Note (on the timeline)", note)[0],
      h("button", { type: "button", onclick: () => act(order, "release", note.value) }, "Release"),
      h("button", { type: "button", class: "danger", onclick: () => act(order, "cancel", note.value) }, "Cancel")));
}

const ADDRESS_FIELDS = [["province", "Province"], ["city", "City"], ["district", "District"], ["detail", "Street and number"],
  ["postal_code", "Postal code"], ["recipient", "Recipient"], ["phone", "Phone"]];

function addressForm(order) {
  const inputs = ADDRESS_FIELDS.map(([name, text]) => field(text, input({ name, value: order.address[name] ?? "" })));
  const form = h("form", { class: "card inner", "aria-label": "Fix the address" },
    h("h3", {}, "Address"), h("div", { class: "grid" }, inputs.map(([label]) => label)),
    h("button", { type: "submit" }, "Save address"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const address = {};
    inputs.forEach(([, control], i) => {
      const [name] = ADDRESS_FIELDS[i];
      const before = order.address[name] ?? "";
      if (control.value !== before) address[name] = control.value === "" ? null : control.value;
    });
    if (!Object.keys(address).length) { showNotice("Nothing changed in the address."); return; }
    patch(order, { address });
  });
  return form;
}

function warehouseForm(order) {
  const choice = select([["", "choose…"], ...state.warehouses.map((w) => [w])], { name: "warehouse" });
  choice.value = order.warehouse ?? "";
  const form = h("form", { class: "card inner inline", "aria-label": "Change the warehouse" },
    field("Warehouse", choice)[0], h("button", { type: "submit" }, "Change warehouse"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (choice.value) patch(order, { warehouse: choice.value });
  });
  return form;
}

function linesForm(order) {
  const sold = order.lines.filter((line) => !line.line_id.startsWith("gift:"));
  const budget = order.amounts.paid - order.amounts.shipping;
  const total = h("output", {});
  const rows = sold.map((line) => {
    const cells = {
      quantity: input({ type: "number", min: 1, value: line.quantity, "aria-label": `${line.sku} quantity` }),
      unit_price: input({ type: "number", min: 0, value: line.unit_price, "aria-label": `${line.sku} unit price (fen)` }),
      paid: input({ type: "number", min: 0, value: line.paid, "aria-label": `${line.sku} paid (fen)` }),
    };
    return { line, cells };
  });
  const sum = () => rows.reduce((acc, r) => acc + Number(r.cells.paid.value || 0), 0);
  const refresh = () => {
    const left = budget - sum();
    total.value = `lines pay ${money(sum(), order.currency)} of ${money(budget, order.currency)}${left ? ` (${left > 0 ? "short" : "over"} by ${money(Math.abs(left), order.currency)})` : ""}`;
    total.className = left ? "warn" : "";
  };
  rows.forEach((r) => r.cells.paid.addEventListener("input", refresh));
  refresh();
  const form = h("form", { class: "card inner", "aria-label": "Edit the lines" },
    h("h3", {}, "Lines (within the paid amount)"),
    table(["SKU", "Quantity", "Unit price (fen)", "Paid (fen)"], rows.map(({ line, cells }) =>
      h("tr", {}, h("td", {}, line.sku, h("br"), h("small", {}, line.title ?? "")), h("td", {}, cells.quantity),
        h("td", {}, cells.unit_price), h("td", {}, cells.paid)))),
    total, " ", h("button", { type: "submit" }, "Save lines"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const lines = rows.map(({ line, cells }) => ({
      line_id: line.line_id, sku: line.sku, title: line.title, quantity: Number(cells.quantity.value),
      unit_price: Number(cells.unit_price.value), paid: Number(cells.paid.value),
    }));
    patch(order, { lines });
  });
  return form;
}

async function patch(order, changes) {
  const updated = await attempt(() => api("PATCH", `/orders/${enc(order.order_id)}`, { body: changes, revision: order.revision }));
  if (!updated) return;
  replace(updated);
  showNotice(`Saved ${Object.keys(changes).join(", ")} of ${order.order_id}.`);
  draw();
}

function replace(updated) {
  state.orders = state.orders.map((o) => (o.order_id === updated.order_id ? updated : o));
}

async function act(order, action, note) {
  const body = note ? { note } : {};
  const result = await attempt(() => api("POST", `/orders/${enc(order.order_id)}/${action}`, { body, revision: order.revision }));
  if (!result) return;
  if (result.status === "held") {
    replace(result);
    showNotice(`${order.order_id} is still held: ${result.holds.map((x) => x.reason).join(", ")}.`);
  } else {
    state.orders = state.orders.filter((o) => o.order_id !== order.order_id);
    state.selected.delete(order.order_id);
    showNotice(`${order.order_id}: ${action === "release" ? "released" : "cancel"} → ${result.status}.`);
  }
  draw();
}

async function bulk(action) {
  const orderIds = [...state.selected];
  const result = await attempt(() => api("POST", "/orders:bulk", { body: { action, order_ids: orderIds } }));
  if (!result) return;
  const counts = Object.entries(result.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(", ");
  const problems = result.results.filter((r) => r.error).map((r) => `${r.order_id}: ${r.error.message ?? r.error}`);
  showNotice(`Bulk ${action}: ${counts}${problems.length ? `. ${problems.join("; ")}` : ""}`);
  state.selected.clear();
  await load();
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest?.("input, textarea, select")) return;
  const orders = visible();
  const order = orders[state.cursor];
  switch (event.key) {
    case "j": state.cursor = Math.min(state.cursor + 1, orders.length - 1); draw(); break;
    case "k": state.cursor = Math.max(state.cursor - 1, 0); draw(); break;
    case "x": if (order) toggle(order.order_id); break;
    case "r": if (order) act(order, "release", ""); break;
    case "c": if (order) act(order, "cancel", ""); break;
    default: return;
  }
  event.preventDefault();
}
