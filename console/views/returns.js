// Returns: those awaiting approval (approve or reject with the reason), awaiting receipt, and refunds overdue.
import { api, enc } from "../api.js";
import { age, attempt, field, h, input, money, orderLink, showNotice, table } from "../ui.js";

const SECTIONS = [
  ["awaiting_approval", "Awaiting approval"],
  ["awaiting_receipt", "Awaiting receipt"],
  ["refund_overdue", "Refunds overdue"],
];

export async function render(container) {
  const lists = await Promise.all(SECTIONS.map(([status]) => api("GET", `/returns?${new URLSearchParams({ status })}`)));
  container.replaceChildren(h("h1", {}, "Returns"), ...SECTIONS.map(([status, title], i) =>
    h("section", { class: "card", dataset: { status } }, h("h2", {}, `${title} (${lists[i].returns.length}${lists[i].next_token ? "+" : ""})`),
      lists[i].returns.length ? table(["Return", "Order", "Kind", "Lines", "Lines' value", "Refund", "Waiting", "Reason", ""],
        lists[i].returns.map((r) => row(container, r, status === "awaiting_approval")))
        : h("p", { class: "muted" }, "None."))));
}

function row(container, ret, decide) {
  const lines = ret.lines.map((l) => `${l.sku}×${l.quantity}`).join(", ");
  return h("tr", { dataset: { returnId: ret.return_id } },
    h("td", { class: "id" }, ret.return_id), h("td", {}, orderLink(ret.order_id)), h("td", {}, ret.kind), h("td", {}, lines),
    h("td", { class: "num" }, money(linesValue(ret), ret.currency)),
    h("td", { class: "num" }, ret.refund ? money(ret.refund.amount ?? ret.refund_amount, ret.currency) : "priced when agreed"),
    h("td", {}, age(ret.status_since)),
    h("td", {}, ret.reason ?? "—", ret.refusal ? h("div", { class: "warn" }, ret.refusal) : null),
    h("td", {}, decide ? decision(container, ret) : null));
}

/** What the returned units paid, priced cumulatively as the API prices refunds (the first n units of a line are
 * worth floor(paid × n ÷ ordered)), before deductions and shipping. */
function linesValue(ret) {
  const upTo = (l, n) => Math.floor((l.paid * n) / l.ordered);
  return ret.lines.reduce((sum, l) => sum + (l.ordered ? upTo(l, (l.before ?? 0) + l.quantity) - upTo(l, l.before ?? 0) : 0), 0);
}

function decision(container, ret) {
  const [noteLabel, note] = field("Reason", input({ name: "note" }));
  const [codeLabel, code] = field("Channel reason code", input({ name: "reason_code", size: 6 }));
  const send = async (action) => {
    const body = {};
    if (note.value.trim()) body.note = note.value.trim();
    if (action === "reject" && code.value.trim()) body.reason_code = code.value.trim();
    const done = await attempt(() => api("POST", `/returns/${enc(ret.return_id)}/${action}`, { body }));
    if (!done) return;
    await render(container);
    showNotice(`${ret.return_id}: ${action === "approve" ? "approved" : "rejected"} (${done.status}).`);
  };
  return h("div", { class: "decide" }, noteLabel, ret.channel !== "shopify" ? codeLabel : null,
    h("button", { type: "button", onclick: () => send("approve") }, "Approve"),
    h("button", { type: "button", class: "danger", onclick: () => send("reject") }, "Reject"));
}
