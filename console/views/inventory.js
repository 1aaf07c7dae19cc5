// The inventory board: per SKU and warehouse on hand / reserved / available / safety stock, what each channel
// lists, low stock highlighted, the SKU's stock over time and the ledger's movements.
import { api, enc } from "../api.js";
import { field, h, input, orderLink, table, time } from "../ui.js";
import { stockChart, stockSeries } from "../chart.js";

const NUMBERS = ["on_hand", "reserved", "available", "safety_stock"];

export async function render(container, [sku]) {
  const [label, box] = field("SKU", input({ name: "sku", value: sku ?? "", placeholder: "TEA-OOLONG-250" }));
  const form = h("form", { class: "toolbar inline" }, label, h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (box.value.trim()) location.hash = `#/inventory/${enc(box.value.trim())}`;
  });
  container.replaceChildren(h("h1", {}, "Inventory"), form);
  if (!sku) return;
  const [board, ledger] = await Promise.all([
    api("GET", `/inventory/${enc(sku)}`), api("GET", `/inventory-ledger/${enc(sku)}`),
  ]);
  container.append(
    h("section", { class: "card" }, h("h2", {}, board.sku), stockTable(board)),
    h("section", { class: "card" }, h("h3", {}, "Listed per channel"), channelTable(board.channels)),
    h("section", { class: "card" }, h("h3", {}, "Stock over time"), stockChart(stockSeries(ledger.entries))),
    h("section", { class: "card" }, h("h3", {}, "Ledger"), ledgerTable(ledger)));
}

function low(level) { return level.available <= (level.safety_stock ?? 0); }

function numbers(level) { return NUMBERS.map((name) => h("td", { class: "num", dataset: { field: name } }, level[name] ?? 0)); }

function stockTable(board) {
  const rows = board.warehouses.map((w) => h("tr", { class: low(w) ? "low" : "", dataset: { warehouse: w.warehouse } },
    h("td", {}, w.warehouse, low(w) ? h("span", { class: "chip warn" }, "low stock") : ""), numbers(w),
    h("td", {}, time(w.counted_at))));
  rows.push(h("tr", { class: `total${low(board.totals) ? " low" : ""}`, dataset: { warehouse: "total" } },
    h("th", {}, "Total"), numbers(board.totals), h("td", {})));
  return table(["Warehouse", "On hand", "Reserved", "Available", "Safety stock", "Counted"], rows, { class: "board" });
}

function channelTable(channels) {
  return table(["Channel", "Listed", "Lock strategy", "Purchase limit"], Object.entries(channels ?? {}).map(([name, c]) =>
    h("tr", { dataset: { channel: name }, class: c.listed <= 0 ? "low" : "" },
      h("td", {}, name), h("td", { class: "num", dataset: { field: "listed" } }, c.listed), h("td", {}, c.strategy),
      h("td", {}, c.purchase_limit ?? "—"))));
}

function ledgerTable(ledger) {
  const entries = [...ledger.entries].sort((a, b) => b.at.localeCompare(a.at));
  const explained = ledger.warehouses.map((w) => `${w.warehouse}: ${w.explains_board ? "the ledger explains the board" : "the ledger does NOT explain the board"}`);
  return h("div", {}, h("p", { class: "muted" }, explained.join(" · ")),
    table(["When", "Warehouse", "Kind", "Δ on hand", "Δ reserved", "Δ available", "Who", "Why", "Order"], entries.map((e) => h("tr", {},
      h("td", {}, time(e.at)), h("td", {}, e.warehouse), h("td", {}, e.kind), h("td", { class: "num" }, e.delta_on_hand),
      h("td", { class: "num" }, e.delta_reserved), h("td", { class: "num" }, e.delta_available), h("td", {}, e.actor ?? "—"),
      h("td", {}, e.reason ?? ""), h("td", {}, e.order_id ? orderLink(e.order_id) : "—")))));
}
