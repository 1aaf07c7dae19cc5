// Rules: each kind's document and version, edited with the schema's errors shown inline, and a dry run
// against a pasted or looked-up order showing the trace of which rule fired.
import { api, ApiError, enc } from "../api.js";
import { attempt, field, h, input, problems, select, showError, showNotice, table } from "../ui.js";

const KINDS = ["routing", "anomaly", "gift", "return_policy", "sla"];

export async function render(container, [kind = "routing"]) {
  const current = await api("GET", `/rules/${enc(kind)}`);
  const picker = select(KINDS.map((k) => [k]), { name: "kind" });
  picker.value = kind;
  picker.addEventListener("change", () => { location.hash = `#/rules/${picker.value}`; });
  const [docLabel, doc] = field("Document (JSON)", h("textarea", { rows: 18, spellcheck: "false", class: "code" }));
  doc.value = JSON.stringify(current.document, null, 2);
  const errors = h("ul", { class: "errors", "aria-live": "polite" });
  const version = h("span", {}, versionText(current));
  const save = h("form", { class: "card" }, h("h2", {}, `${kind} rules `, version), docLabel, errors,
    h("button", { type: "submit" }, "Save"));
  let revision = current.version;
  save.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const document_ = parse(doc.value, errors);
    if (document_ === undefined) return;
    try {
      const stored = await api("PUT", `/rules/${enc(kind)}`, { body: document_, revision });
      revision = stored.version;
      version.textContent = versionText(stored);
      showNotice(`Saved ${kind} rules as version ${stored.version}.`);
    } catch (error) {
      showError(error);
      if (error instanceof ApiError) errors.replaceChildren(...problems(error.details).map((p) => h("li", {}, p)));
    }
  });
  container.replaceChildren(h("h1", {}, "Rules"), h("div", { class: "toolbar" }, field("Kind", picker)[0]), save,
    simulator(kind, doc));
}

function versionText(rules) {
  return `— version ${rules.version}${rules.default ? " (built-in default)" : ""}${rules.created_at ? `, stored ${rules.created_at}` : ""}`;
}

function parse(text, errors) {
  try {
    return JSON.parse(text);
  } catch (error) {
    errors.replaceChildren(h("li", {}, `not JSON: ${error.message}`));
    return undefined;
  }
}

function simulator(kind, doc) {
  const [idLabel, orderId] = field("Order id to look up", input({ name: "sim_order_id" }));
  const [orderLabel, order] = field("Order (JSON)", h("textarea", { rows: 8, spellcheck: "false", class: "code" }));
  const draft = h("input", { type: "checkbox", name: "draft" });
  const [returnLabel, ret] = field("Return (JSON, return_policy only)", h("textarea", { rows: 3, spellcheck: "false", class: "code" }));
  const result = h("div", { class: "simulation" });
  const lookUp = async () => {
    const found = await attempt(() => api("GET", `/orders/${enc(orderId.value.trim())}`));
    if (found) order.value = JSON.stringify(found, null, 2);
  };
  const form = h("form", { class: "card" }, h("h2", {}, "Dry run"),
    h("div", { class: "inline" }, idLabel, h("button", { type: "button", onclick: lookUp }, "Look up")),
    orderLabel, kind === "return_policy" ? returnLabel : null,
    h("label", { class: "check" }, draft, " Try the edited document above instead of the stored version"),
    h("button", { type: "submit" }, "Simulate"), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const body = { order: parse(order.value, result) };
    if (body.order === undefined) return;
    if (draft.checked) body.document = parse(doc.value, result);
    if (kind === "return_policy" && ret.value.trim()) body.return = parse(ret.value, result);
    if (body.document === undefined && draft.checked) return;
    try {
      result.replaceChildren(...trace(await api("POST", `/rules/${kind}:simulate`, { body })));
    } catch (error) {
      showError(error);
      result.replaceChildren(h("ul", { class: "errors" }, problems(error.details).map((p) => h("li", {}, p))));
    }
  });
  return form;
}

function trace(answer) {
  const steps = answer.trace ?? [];
  return [
    h("p", {}, h("strong", {}, "Rule fired: "), answer.rule ?? "none",
      answer.rules_fired?.length ? ` (all fired: ${answer.rules_fired.join(", ")})` : "",
      ` · version ${answer.version ?? "draft"}`),
    h("pre", { class: "code" }, JSON.stringify(answer.decision, null, 2)),
    table(["Rule / check", "Condition", "Result", "Actual", "Note"], steps.map((s) => h("tr", { class: s.result === true || s.result === "fired" ? "hit" : "" },
      h("td", {}, s.rule ?? s.check ?? ""), h("td", {}, s.condition ? JSON.stringify(s.condition) : s.at ?? ""),
      h("td", {}, String(s.result)), h("td", {}, s.actual === undefined ? "" : JSON.stringify(s.actual)),
      h("td", {}, s.note ?? s.detail ?? "")))),
  ];
}
