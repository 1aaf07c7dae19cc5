// One order: search by OCP id or by channel + channel order id; lines, money, address, holds, parcels,
// reservation, its timeline as a sequence of hops, and its returns.
import { api, enc } from "../api.js";
import { attempt, field, h, input, money, select, table, time } from "../ui.js";

const CHANNELS = ["shopify", "taobao", "jd", "douyin"];

export async function render(container, [orderId]) {
  container.replaceChildren(h("h1", {}, "Order"), searchForms(orderId), h("div", { id: "order-body" }));
  if (orderId) await show(container.querySelector("#order-body"), orderId);
}

function searchForms(orderId) {
  const [idLabel, id] = field("OCP order id", input({ name: "order_id", value: orderId ?? "", placeholder: "shopify-5948314708213004033" }));
  const byId = h("form", { class: "inline" }, idLabel, h("button", { type: "submit" }, "Open"));
  byId.addEventListener("submit", (event) => {
    event.preventDefault();
    if (id.value.trim()) location.hash = `#/order/${enc(id.value.trim())}`;
  });
  const [channelLabel, channel] = field("Channel", select(CHANNELS.map((c) => [c])));
  const [channelIdLabel, channelId] = field("Channel order id", input({ name: "channel_order_id" }));
  const byChannel = h("form", { class: "inline" }, channelLabel, channelIdLabel, h("button", { type: "submit" }, "Find"));
  byChannel.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = new URLSearchParams({ channel: channel.value, channel_order_id: channelId.value.trim() });
    const found = await attempt(() => api("GET", `/orders?${query}`));
    if (!found) return;
    const body = document.getElementById("order-body");
    if (!found.orders.length) body.replaceChildren(h("p", {}, `No ${channel.value} order ${channelId.value}.`));
    else if (found.orders.length === 1) location.hash = `#/order/${enc(found.orders[0].order_id)}`;
    else body.replaceChildren(h("ul", {}, found.orders.map((o) => h("li", {}, h("a", { href: `#/order/${enc(o.order_id)}`, class: "id" }, o.order_id)))));
  });
  return h("div", { class: "toolbar" }, byId, byChannel);
}

async function show(body, orderId) {
  const order = await api("GET", `/orders/${enc(orderId)}`);
  const returns = await attempt(() => api("GET", `/returns?${new URLSearchParams({ order_id: orderId })}`));
  const cur = order.currency;
  body.replaceChildren(
    h("section", { class: "card" },
      h("h2", {}, h("span", { class: "id" }, order.order_id), " ", h("span", { class: `status s-${order.status}` }, order.status)),
      h("p", {}, `${order.channel} order ${order.channel_order_id}${order.channel_order_name ? ` (${order.channel_order_name})` : ""}`,
        ` · created ${time(order.created_at)} · paid ${time(order.paid_at)} · warehouse ${order.warehouse ?? "none"} · revision ${order.revision}`),
      h("dl", { class: "amounts" }, ["items", "discount", "shipping", "paid"].flatMap((k) => [h("dt", {}, k), h("dd", {}, money(order.amounts[k], cur))]))),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h3", {}, "Lines"),
        table(["Line", "SKU", "Qty", "Unit price", "Discount", "Paid"], order.lines.map((l) => h("tr", {},
          h("td", { class: "id" }, l.line_id), h("td", {}, l.sku, l.gift ? " (gift)" : "", h("br"), h("small", {}, l.title ?? "")),
          h("td", { class: "num" }, l.quantity), h("td", { class: "num" }, money(l.unit_price, cur)),
          h("td", { class: "num" }, money(l.discount, cur)), h("td", { class: "num" }, money(l.paid, cur)))))),
      h("section", { class: "card" }, h("h3", {}, "Address"),
        h("p", {}, [order.address.province, order.address.city, order.address.district, order.address.town, order.address.detail].filter(Boolean).join(" ")),
        h("p", {}, [order.address.recipient, order.address.phone, order.address.postal_code].filter(Boolean).join(" · ")),
        h("h3", {}, "Holds"),
        order.holds.length ? h("ul", {}, order.holds.map((x) => h("li", {}, h("strong", {}, x.reason), x.detail ? `: ${x.detail}` : ""))) : h("p", { class: "muted" }, "none"),
        h("h3", {}, "Reservation"), reservation(order.reservation))),
    h("section", { class: "card" }, h("h3", {}, "Parcels"), parcels(order)),
    h("section", { class: "card" }, h("h3", {}, "Timeline"), timeline(order.timeline)),
    h("section", { class: "card" }, h("h3", {}, "Returns"), returnsOf(returns?.returns ?? [], cur)));
}

function reservation(r) {
  if (!r) return h("p", { class: "muted" }, "none");
  return h("div", {},
    h("p", {}, `${r.state} at ${r.warehouse ?? "—"} (${r.strategy}) since ${time(r.reserved_at)}${r.expires_at ? `, expires ${time(r.expires_at)}` : ""}`),
    h("ul", {}, (r.allocations ?? []).map((a) => h("li", {}, `${a.sku} × ${a.quantity} (shard ${a.shard}${a.warehouse ? `, ${a.warehouse}` : ""})`))));
}

function parcels(order) {
  const shipments = order.fulfillment?.shipments ?? [];
  const split = order.fulfillment?.parcels ?? [];
  if (!shipments.length && !split.length) return h("p", { class: "muted" }, "No parcel yet.");
  return h("div", {},
    split.length ? table(["Warehouse", "Status", "Lines", "Tracking"], split.map((p) => h("tr", {},
      h("td", {}, p.warehouse), h("td", {}, p.status), h("td", {}, p.lines.map((l) => `${l.sku}×${l.quantity}`).join(", ")),
      h("td", {}, p.tracking_no ? `${p.carrier ?? ""} ${p.tracking_no}` : "—")))) : null,
    shipments.length ? table(["Shipped", "Carrier", "Tracking", "Lines", "Delivered", "Write-back"], shipments.map((s) => h("tr", {},
      h("td", {}, time(s.at)), h("td", {}, s.carrier), h("td", { class: "id" }, s.tracking_no),
      h("td", {}, (s.lines ?? []).map((l) => `${l.line_id}×${l.quantity}`).join(", ")),
      h("td", {}, time(s.delivered_at)), h("td", {}, s.writeback?.state ?? "—")))) : null);
}

/** The timeline as hops: one step per entry, grouped visually by hop, with time, source, actor and principal. */
function timeline(entries) {
  return h("ol", { class: "timeline" }, entries.map((e) => h("li", { class: `hop-${e.hop}` },
    h("span", { class: "hop" }, e.hop),
    h("div", {},
      h("strong", {}, e.event), e.detail ? ` — ${e.detail}` : "",
      h("div", { class: "meta" }, time(e.at), ` · source ${e.source}`,
        ` · actor ${e.actor ?? "—"}`, ` · principal ${e.principal ?? "—"}`)))));
}

function returnsOf(list, cur) {
  if (!list.length) return h("p", { class: "muted" }, "No returns.");
  return table(["Return", "Kind", "Status", "Refund", "Since"], list.map((r) => h("tr", {},
    h("td", { class: "id" }, r.return_id), h("td", {}, r.kind), h("td", {}, r.status),
    h("td", { class: "num" }, money(r.refund_amount, r.currency ?? cur)), h("td", {}, time(r.status_since)))));
}
