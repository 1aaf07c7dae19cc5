// Where orders are stuck: the stuck report per hop, with re-dispatch for the hops a warehouse has not accepted.
import { api } from "../api.js";
import { age, attempt, h, orderLink, showNotice, table, time } from "../ui.js";

const REDISPATCHABLE = new Set(["reserved", "dispatched"]);

export async function render(container) {
  const report = await api("GET", "/orders/stuck?sample=10");
  container.replaceChildren(
    h("h1", {}, "Stuck orders"),
    h("p", { class: "muted" }, `Generated ${time(report.generated_at)} from SLA version ${report.sla_version}.`),
    table(["Hop", "Status", "Count", "Oldest", "Sample orders", ""], report.hops.map((hop) => h("tr", { class: hop.count ? "late" : "", dataset: { hop: hop.hop } },
      h("td", {}, hop.hop), h("td", {}, hop.status ?? hop.aftersale_status ?? "—"), h("td", { class: "num" }, hop.count),
      h("td", {}, hop.oldest ? [age(hop.oldest.since), " (", orderLink(hop.oldest.order_id), ")"] : "—"),
      h("td", {}, hop.orders.map((o) => [orderLink(o.order_id), o.return_id ? ` (return ${o.return_id})` : "", " "]),
        hop.truncated ? "…" : ""),
      h("td", {}, REDISPATCHABLE.has(hop.status) && hop.count
        ? h("button", { type: "button", onclick: () => redispatch(container, hop.hop) }, "Re-dispatch") : null)))));
}

async function redispatch(container, hop) {
  const result = await attempt(() => api("POST", "/orders:redispatch", { body: { hop } }));
  if (!result) return;
  await render(container);
  showNotice(`Re-dispatch ${hop}: ${result.queued?.length ?? result.queued} queued, ${result.skipped.length} skipped.`);
}
