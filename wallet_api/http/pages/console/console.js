// The operators' console: the regions and their wallet limits, the counters, the shops (the
// onboarding form, a shop's status, terminals and printed code), settlement (the payout
// account, transfer files, the bank's results), bank statements matched, the nightly chain
// with a retry, and the seals. Auditors see the same, without the buttons that change things.

import { api, ApiError, oneChange } from "/static/api.js";
import {
  addMessages,
  businessDay,
  dateTime,
  el,
  labelled,
  pagedList,
  refusal,
  say,
  serially,
  showView,
  staffSession,
  t,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { MESSAGES } from "/console/messages.js";
import { consoleField, readFields, setUpShops, showOnboard, showShop, showShops } from "/console/shops.js";
import { setUpSettlement, showBank, showBatch, showSettlement } from "/console/settlement.js";

addMessages(MESSAGES);

const problem = document.getElementById("problem");
const state = { session: null, operator: false, regions: [], region: null, done: null };
// What the other parts of the console share with this one.
const context = {
  state,
  problem,
  region: () => state.regions.find((r) => r.code === state.region),
  // Say `text` once the view the address names next is shown.
  after: (hash, text) => {
    state.done = text;
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};
const PAGE_SIZE = 50;

// --- regions and their limits ---------------------------------------------------------------

const LIMITS = [
  "max_wallet_balance",
  "daily_topup_limit",
  "payments_per_minute",
  "pin_attempts_per_minute",
  "visitor_wallet_days",
];

async function showRegions() {
  showView("regions");
  document.getElementById("region-rows").replaceChildren(
    ...state.regions.map((region) =>
      el(
        "tr",
        { "aria-current": region.code === state.region ? "true" : null },
        el("td", { text: region.name }),
        el("td", { text: region.code }),
        el("td", { text: `${region.currency_name} (${region.currency})` }),
      ),
    ),
  );
  const policy = await api("GET", `/v1/regions/${encodeURIComponent(state.region)}/policy`);
  document.getElementById("policy-heading").textContent = t("console.policy.heading", { region: context.region().name });
  const form = document.getElementById("policy-form");
  form.replaceChildren(
    ...LIMITS.map((name) =>
      labelled(
        el("input", { id: "policy-" + name, inputmode: "numeric", autocomplete: "off", value: String(policy[name]), readonly: !state.operator }),
        t("console.policy." + name),
      ),
    ),
    state.operator ? el("div", { class: "actions" }, el("button", { type: "submit", text: t("console.policy.save") })) : null,
  );
}

document.getElementById("policy-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.submitter, async () => {
    say(problem, "");
    const body = {};
    for (const name of LIMITS) {
      const input = document.getElementById("policy-" + name);
      const text = input.value.normalize("NFKC").replace(/[,\s]/g, "");
      if (!/^[0-9]{1,13}$/.test(text) || Number(text) < 1) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        say(problem, t("refusal.invalid_request"));
        return;
      }
      input.removeAttribute("aria-invalid");
      body[name] = Number(text);
    }
    try {
      await api("PUT", `/v1/regions/${encodeURIComponent(state.region)}/policy`, body);
      say(problem, t("console.policy.saved", { region: context.region().name }), "ok");
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

const REGION_FIELDS = [
  ["code", /^[a-z][a-z0-9-]{1,39}$/],
  ["name", /^.{1,200}$/u],
  ["currency", /^[A-Z][A-Z0-9]{1,11}$/, "letter"],
  ["currency_name", /^.{1,200}$/u],
];

const addRegion = oneChange(
  () => {
    const { values, wrong } = readFields("region", REGION_FIELDS);
    if (wrong) {
      wrong.focus();
      return null;
    }
    return values;
  },
  (body, key) => api("POST", "/v1/regions", body, { key }),
);

document.getElementById("region-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.submitter, async () => {
    say(problem, "");
    try {
      const added = await addRegion();
      if (!added) {
        say(problem, t("refusal.invalid_request"));
        return;
      }
      const name = document.getElementById("region-name").value.trim();
      event.target.reset();
      await loadRegions(added.region);
      context.after("#regions", t("console.regions.created", { name }));
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- counters -------------------------------------------------------------------------------

const counterList = pagedList({
  more: document.getElementById("counters-more"),
  fetchPage: async (after) => {
    const query = new URLSearchParams({ region: state.region, limit: String(PAGE_SIZE) });
    if (after) query.set("after", after);
    const page = await api("GET", "/v1/counters?" + query);
    return { items: page.counters, next_after: page.next_after };
  },
  draw: (counters) => {
    document.getElementById("counters-caption").textContent = t("console.counters.caption", { region: context.region().name });
    document.getElementById("counter-rows").replaceChildren(
      ...counters.map((counter) => el("tr", {}, el("td", { text: counter.id }), el("td", { text: counter.name }))),
    );
  },
  onError: (error) => say(problem, refusal(error)),
});

async function showCounters() {
  showView("counters");
  await counterList.reload();
}

const openCounter = oneChange(
  () => {
    const id = document.getElementById("counter-id");
    const name = document.getElementById("counter-name");
    for (const input of [id, name]) input.removeAttribute("aria-invalid");
    const wrong = !/^[a-z0-9][a-z0-9-]{1,24}$/.test(id.value.trim()) ? id : !name.value.trim() ? name : null;
    if (wrong) {
      wrong.setAttribute("aria-invalid", "true");
      wrong.focus();
      return null;
    }
    return { id: id.value.trim(), name: name.value.trim(), currency: context.region().currency };
  },
  (body, key) => api("POST", "/v1/counters", body, { key }),
);

document.getElementById("counter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.submitter, async () => {
    say(problem, "");
    try {
      const opened = await openCounter();
      if (!opened) {
        say(problem, t("refusal.invalid_request"));
        return;
      }
      event.target.reset();
      await counterList.reload();
      say(problem, t("console.counters.opened", { name: opened.name }), "ok");
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- the nightly chain ----------------------------------------------------------------------

function nightTable(night) {
  const condition = t(night.complete ? "console.nightly.complete" : "console.nightly.incomplete");
  return el(
    "table",
    { class: "lines", "data-date": night.business_date },
    el("caption", {}, t("console.nightly.day", { date: businessDay(night.business_date), state: condition })),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["step", "status", "detail", "attempts", "updated"].map((name) =>
          el("th", { scope: "col", class: name === "attempts" ? "number" : null, text: t("console.nightly." + name) }),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      night.steps.map((step) =>
        el(
          "tr",
          { class: step.status === "done" ? null : "mismatch", "data-step": step.step },
          el("th", { scope: "row", text: t("console.step." + step.step) }),
          el("td", {}, el("span", { class: step.status === "done" ? "tag ok" : "tag", text: t("console.step-status." + step.status) })),
          el("td", { class: "detail", text: step.detail }),
          el("td", { class: "number", text: String(step.attempts) }),
          el("td", { text: dateTime(step.updated_at) }),
        ),
      ),
    ),
  );
}

function drawNights(nights) {
  const shown = [...nights].reverse(); // newest first
  document.getElementById("nightly-empty").hidden = shown.length > 0;
  document.getElementById("nights").replaceChildren(
    ...shown.map((night) =>
      el(
        "div",
        // Scrolled sideways on a phone, by keyboard too.
        { class: "night", tabindex: "0", role: "region", "aria-label": t("console.nightly.day", { date: businessDay(night.business_date), state: "" }).trim() },
        nightTable(night),
        state.operator && !night.complete
          ? el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: runNightly, text: t("console.nightly.retry") }))
          : null,
      ),
    ),
  );
}

async function showNightly() {
  showView("nightly");
  drawNights(await api("GET", "/v1/nightly"));
}

// Each press is a run of its own: a run changes nothing a run before it did.
async function runNightly(event) {
  await withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      const run = await api("POST", "/v1/nightly/runs");
      drawNights(await api("GET", "/v1/nightly"));
      if (run.stopped) say(problem, t("console.nightly.stopped", { detail: run.stopped }));
      else say(problem, run.due.length ? t("console.nightly.ran", { count: run.due.length }) : t("console.nightly.nothing"), "ok");
    } catch (error) {
      say(problem, refusal(error));
    }
  });
}

document.getElementById("nightly-run").addEventListener("click", runNightly);

// --- seals ----------------------------------------------------------------------------------

async function showSeals() {
  showView("seals");
  const currency = context.region().currency;
  const seals = await api("GET", `/v1/seals/${encodeURIComponent(currency)}`);
  document.getElementById("seals-caption").textContent = t("console.seals.caption", { currency });
  document.getElementById("seals-empty").hidden = seals.length > 0;
  document.getElementById("seal-rows").replaceChildren(
    ...[...seals].reverse().map((seal) =>
      el(
        "tr",
        {},
        el("td", { text: businessDay(seal.business_date) }),
        el("td", { class: "number", text: yen(seal.entry_count) }),
        el("td", {}, el("code", { class: "hash", text: seal.root })),
        el("td", {}, el("code", { text: seal.key_id })),
      ),
    ),
  );
}

// --- routing --------------------------------------------------------------------------------

const VIEWS = {
  regions: showRegions,
  counters: showCounters,
  shops: () => showShops(context),
  onboard: () => showOnboard(context),
  shop: (id) => showShop(context, id),
  settlement: () => showSettlement(context),
  batch: (id) => showBatch(context, id),
  bank: () => showBank(context),
  nightly: showNightly,
  seals: showSeals,
};
const OPERATOR_ONLY = new Set(["onboard"]);

// One view drawn at a time, in the order asked: a slow answer for a region chosen before never
// lands on the screen of the one chosen after.
const route = serially(drawRoute);

async function drawRoute() {
  say(problem, "");
  const [name, id] = location.hash.slice(1).split("/");
  const view = VIEWS[name] && !(OPERATOR_ONLY.has(name) && !state.operator) ? name : "regions";
  try {
    await VIEWS[view](id && decodeURIComponent(id));
    if (state.done) say(problem, state.done, "ok");
  } catch (error) {
    say(problem, refusal(error));
  }
  state.done = null;
}

// The regions into the chooser above every view, `chosen` chosen (else the one chosen before).
async function loadRegions(chosen) {
  state.regions = (await api("GET", "/v1/regions")).regions;
  const select = document.getElementById("region");
  select.replaceChildren(...state.regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.code})` })));
  if (chosen || state.region) select.value = chosen || state.region;
  state.region = select.value;
}

async function start() {
  const session = await staffSession({
    path: "/console/",
    roles: ["operator", "auditor"],
    notStaff: "console.not-staff",
    problem,
    onChange: () => {
      if (state.session) route();
    },
  });
  if (!session) return;
  state.session = session;
  state.operator = session.roles.includes("operator");
  for (const element of document.querySelectorAll("[data-operator]")) element.hidden = !state.operator;
  document.getElementById("read-only").hidden = state.operator;
  document.getElementById("region-fields").replaceChildren(...REGION_FIELDS.map((field) => consoleField("region", field)));
  await loadRegions(null);
  document.getElementById("tabs").hidden = false;
  document.getElementById("region-bar").hidden = false;
  await route();
}

document.getElementById("region").addEventListener("change", (event) => {
  state.region = event.target.value;
  // A shop or a transfer file is of one region: another region shows its list instead.
  const [name] = location.hash.slice(1).split("/");
  const list = { shop: "#shops", onboard: "#shops", batch: "#settlement" }[name];
  if (list) location.hash = list;
  else route();
});
setUpShops(context);
setUpSettlement(context);
window.addEventListener("hashchange", route);
start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
