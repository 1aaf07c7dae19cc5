// Sign-in, hash routing and the navigation. Each screen is a module exporting `render(container, params)`.
import { api, configure, session } from "./api.js";
import { clearFlash, field, h, input, showError } from "./ui.js";
import * as held from "./views/held.js";
import * as inventory from "./views/inventory.js";
import * as order from "./views/order.js";
import * as returns from "./views/returns.js";
import * as rules from "./views/rules.js";
import * as stuck from "./views/stuck.js";

const screens = { held, order, stuck, inventory, returns, rules };

function signInForm(view) {
  const [keyLabel, key] = field("API key", input({ type: "password", autocomplete: "off", required: true }));
  const [actorLabel, actor] = field("Your name (optional, shown as the actor)", input({ autocomplete: "off" }));
  const form = h("form", { class: "signin card" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Enter an API key with operator scopes. It is kept for this browser tab only."),
    keyLabel, actorLabel,
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("GET", "/orders?status=held&limit=1", { key: key.value.trim() });
    } catch (error) {
      showError(error);
      return;
    }
    session.signIn(key.value.trim(), actor.value.trim());
    clearFlash();
    if (!location.hash || location.hash === "#/signin") location.hash = "#/held"; else route();
  });
  view.replaceChildren(form);
  key.focus();
}

function chrome() {
  const signedIn = Boolean(session.key);
  document.getElementById("nav").hidden = !signedIn;
  const who = document.getElementById("who");
  who.replaceChildren();
  if (signedIn) {
    who.append(session.actor ? `Signed in as ${session.actor}` : "Signed in",
      h("button", { type: "button", class: "link", onclick: () => { session.signOut(); location.hash = "#/signin"; route(); } },
        "Sign out"));
  }
}

let current = null;

async function route() {
  chrome();
  const view = document.getElementById("view");
  current?.leave?.();
  current = null;
  if (!session.key) { signInForm(view); return; }
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const screen = screens[name] ?? held;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.getAttribute("href") === `#/${screens[name] ? name : "held"}`);
  }
  clearFlash();
  view.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  current = screen;
  try {
    await screen.render(view, rest.map(decodeURIComponent));
  } catch (error) {
    showError(error);
  }
}

window.addEventListener("hashchange", route);
await configure();
route();
