// The campaign office: the campaigns of a region, a form to create or change one of any kind,
// and a campaign's own screen with its live budget, its settings, the lottery (the published
// commitment, the draw, the winners and a re-run check in this browser), the benefit's payment
// list checked before paying, and the report of uptake and breakage. Economists and auditors
// see the same screens without the buttons that change anything.

import { api, ApiError, oneChange } from "/static/api.js";
import {
  addMessages,
  csvRows,
  dateTime,
  el,
  fillRegions,
  pagedList,
  points,
  refusal,
  say,
  serially,
  showView,
  staffSession,
  t,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { MESSAGES } from "/campaign-office/messages.js";
import { campaignChange, drawFields, fillFrom, kindOf, tokyoIso } from "/campaign-office/form.js";
import { checkLottery } from "/campaign-office/lottery.js";

addMessages(MESSAGES);

const READERS = ["campaign_admin", "economist", "auditor"];
const REPORT_EVERY_MS = 5000;
// Settings change until an hour before the campaign opens (the service says so too).
const FIXED_BEFORE_START_MS = 3600 * 1000;
const PAGE_SIZE = 20;

const problem = document.getElementById("problem");
const form = document.getElementById("campaign-form");
const money = (amount) => t("yen", { amount: yen(amount) });
const state = {
  session: null,
  admin: false,
  regions: [],
  region: null,
  campaign: null, // CampaignOut shown
  report: null,
  lottery: null,
  reportTimer: null,
  editing: null, // the id of the campaign the form changes, or null to create
  done: null, // what to say once the next view is shown
};

// --- a campaign's window and phase ------------------------------------------------------------

function windowOf(campaign) {
  const terms = campaign.terms;
  if (campaign.kind === "spend_back") return [terms.earn_from, terms.earn_until];
  if (campaign.kind === "benefit") return [terms.payout_from, terms.payout_until];
  return [terms.applications_from || terms.sale_from, terms.sale_until];
}

function phaseOf(campaign) {
  const [from, until] = windowOf(campaign).map((value) => Date.parse(value));
  const now = Date.now();
  return now < from ? "upcoming" : now < until ? "open" : "closed";
}

const kindName = (campaign) =>
  kindOf(campaign) === "lottery" ? t("office.kind.lottery-name") : t("campaign.kind." + campaign.kind);

// --- the list ---------------------------------------------------------------------------------

const campaignList = pagedList({
  more: document.getElementById("campaigns-more"),
  fetchPage: async (after) => {
    const query = new URLSearchParams({ region: state.region, limit: String(PAGE_SIZE) });
    if (after) query.set("after", after);
    const page = await api("GET", "/v1/campaigns?" + query);
    return { items: page.campaigns, next_after: page.next_after };
  },
  draw: (campaigns) => renderList(campaigns),
  onError: (error) => say(problem, refusal(error)),
});

function renderList(listed) {
  const region = state.regions.find((r) => r.code === state.region);
  document.getElementById("campaigns-caption").textContent = t("office.list.caption", {
    region: region ? region.name : state.region,
    count: listed.length,
  });
  document.getElementById("campaign-rows").replaceChildren(
    ...listed.map((campaign) => {
      const [from, until] = windowOf(campaign);
      return el(
        "tr",
        {},
        el("td", {}, el("a", { href: "#campaign/" + campaign.id, text: campaign.name })),
        el("td", { text: kindName(campaign) }),
        el("td", { text: t("office.period.range", { from: dateTime(from), until: dateTime(until) }) }),
        el("td", {}, el("span", { class: "tag", text: t("campaign.phase." + phaseOf(campaign)) })),
      );
    }),
  );
  document.getElementById("campaigns-empty").hidden = listed.length > 0;
  document.getElementById("campaigns").hidden = listed.length === 0;
}

async function showList() {
  showView("list");
  const select = document.getElementById("list-region");
  await fillRegions(select, state.region);
  state.region = select.value;
  await campaignList.reload();
}

// --- the form ---------------------------------------------------------------------------------

let change = null; // the one change the form's submission is, until it is answered

function setUpForm(campaign) {
  state.editing = campaign ? campaign.id : null;
  change = campaignChange(form, () => state.editing);
  form.reset();
  if (campaign) fillFrom(form, campaign, state.regions);
  else drawFields(form, state.regions);
  // What never changes after creation cannot be changed here either.
  document.getElementById("f-id").readOnly = Boolean(campaign);
  document.getElementById("f-region").disabled = Boolean(campaign);
  for (const radio of form.elements.kind) radio.disabled = Boolean(campaign);
  document.getElementById("form-heading").textContent = t(campaign ? "office.form.edit" : "office.form.new");
  document.getElementById("form-submit").textContent = t(campaign ? "office.form.save" : "office.form.create");
  document.getElementById("form-note").hidden = !campaign;
}

async function showForm(campaignId) {
  showView("form");
  if (!campaignId) document.querySelector('nav.tabs a[href="#new"]').setAttribute("aria-current", "page");
  const campaign = campaignId ? await api("GET", `/v1/campaigns/${encodeURIComponent(campaignId)}`) : null;
  setUpForm(campaign);
  if (!campaign && state.region) document.getElementById("f-region").value = state.region;
}

form.addEventListener("change", (event) => {
  if (event.target.name === "kind") drawFields(form, state.regions);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(document.getElementById("form-submit"), async () => {
    say(problem, "");
    try {
      const saved = await change();
      if (!saved) {
        say(problem, t("refusal.invalid_request"));
        return;
      }
      state.done = t(state.editing ? "office.form.saved" : "office.form.created", { name: saved.name });
      state.region = saved.region;
      location.hash = "#campaign/" + saved.id;
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- a campaign -------------------------------------------------------------------------------

const YEN_TERMS = new Set(["price"]);
const POINT_TERMS = new Set([
  "points_per_set",
  "restricted_points_per_set",
  "per_payment_cap",
  "per_person_cap",
  "budget",
  "points_per_person",
]);

function termValue(name, value) {
  if (value === null || value === undefined) return t("office.unlimited");
  if (typeof value === "boolean") return t(value ? "office.yes" : "office.no");
  if (Array.isArray(value)) {
    if (value.length === 0) return t("office.unlimited");
    return name === "merchant_size_classes" ? value.map((size) => t("office.size." + size)).join("、") : value.join("、");
  }
  if (name === "rate_basis_points") return `${value / 100}%`;
  if (YEN_TERMS.has(name)) return money(value);
  if (POINT_TERMS.has(name)) return points(value);
  if (typeof value === "number") return yen(value);
  if (/^\d{4}-\d\d-\d\dT/.test(value)) return dateTime(value);
  return String(value);
}

function termLabel(name) {
  if (name === "rate_basis_points") return t("office.field.rate_percent");
  if (name === "residents_only") return t("office.eligibility.residents");
  return t("office.field." + name);
}

function renderTerms(campaign) {
  // A premium sale without a lottery has no application window; only spend-back picks shops.
  const entries = [...Object.entries(campaign.terms), ...Object.entries(campaign.eligibility)].filter(
    ([name, value]) =>
      !(name.startsWith("applications_") && value === null) && !(name.startsWith("merchant_") && campaign.kind !== "spend_back"),
  );
  document.getElementById("campaign-terms").replaceChildren(
    ...entries.flatMap(([name, value]) => [
      el("dt", { text: termLabel(name) }),
      el("dd", { text: termValue(name, value) }),
    ]),
  );
}

function renderHeader(campaign) {
  const phase = phaseOf(campaign);
  document.getElementById("campaign-name").textContent = campaign.name;
  document.getElementById("campaign-line").textContent = t("office.line", {
    kind: kindName(campaign),
    region: campaign.region,
    id: campaign.id,
    phase: t("campaign.phase." + phase),
  });
  const [from] = windowOf(campaign);
  document.getElementById("campaign-edit").hidden = !(state.admin && Date.now() < Date.parse(from) - FIXED_BEFORE_START_MS);
}

function renderBudget(report) {
  const funded = report.budget_funded;
  const used = Math.max(0, funded - report.budget_left - report.budget_returned);
  const meter = document.getElementById("budget-meter");
  meter.max = Math.max(funded, 1);
  meter.value = used;
  meter.high = funded * 0.9;
  meter.optimum = 0;
  document.getElementById("budget-text").textContent = t("office.budget.text", {
    funded: points(funded),
    used: points(used),
    left: points(report.budget_left),
    returned: points(report.budget_returned),
  });
  document.getElementById("campaign-return").hidden = !(
    state.admin &&
    phaseOf(state.campaign) === "closed" &&
    report.budget_left > 0
  );
}

const percent = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "—");

function renderReport(report) {
  const campaign = state.campaign;
  const issued = Object.values(report.issued_by_lot).reduce((sum, amount) => sum + amount, 0);
  const rows = [];
  const row = (key, value) => rows.push(el("tr", {}, el("th", { scope: "row", text: t(key) }), el("td", { class: "amount", text: value })));
  if (kindOf(campaign) === "lottery") {
    row("office.report.applications", t("office.report.pair", { a: yen(report.applications), b: yen(report.sets_applied) }));
    row("office.report.winners", t("office.report.pair", { a: yen(report.winners), b: yen(report.sets_granted) }));
  }
  if (campaign.kind === "premium_sets") {
    row("office.report.sold", t("office.report.triple", { a: yen(report.purchases), b: yen(report.buyers), c: yen(report.sets_sold) }));
    row("office.report.uptake", percent(report.sets_sold, campaign.terms.total_sets));
  }
  if (campaign.kind === "spend_back") {
    row("office.report.rewards", t("office.report.pair", { a: yen(report.spend_back_rewards), b: yen(report.rewarded_people) }));
    row("office.report.taken-back", points(report.taken_back));
  }
  if (campaign.kind === "benefit") row("office.report.payouts", yen(report.benefit_payouts));
  row("office.report.issued", points(issued));
  row("office.report.spent-local", points(report.spent_at_local_shops));
  row("office.report.spent-all", points(report.spent_at_all_shops));
  row("office.report.outstanding", points(report.outstanding));
  row("office.report.breakage", points(report.breakage));
  row("office.report.breakage-rate", percent(report.breakage, issued));
  document.getElementById("report-rows").replaceChildren(...rows);
}

async function refreshReport() {
  const report = await api("GET", `/v1/campaigns/${encodeURIComponent(state.campaign.id)}/report`);
  state.report = report;
  renderBudget(report);
  renderReport(report);
  renderApplications();
  if (state.lottery && state.lottery.campaign_id === state.campaign.id) renderDrawButton();
}

function stopReports() {
  clearInterval(state.reportTimer);
  state.reportTimer = null;
}

async function showCampaign(id) {
  showView("campaign");
  const campaign = await api("GET", `/v1/campaigns/${encodeURIComponent(id)}`);
  state.campaign = campaign;
  state.region = campaign.region;
  renderHeader(campaign);
  renderTerms(campaign);
  document.getElementById("lottery").hidden = !campaign.lottery_seed_sha256;
  document.getElementById("benefit").hidden = !(campaign.kind === "benefit" && state.admin);
  document.getElementById("benefit-preview").hidden = true;
  document.getElementById("lottery-verdict").hidden = true;
  state.lottery = null;
  await refreshReport();
  if (campaign.lottery_seed_sha256) await loadLottery();
  // The budget meter follows purchases, points back and payouts as they happen.
  state.reportTimer = setInterval(() => {
    refreshReport().catch((error) => say(problem, refusal(error)));
  }, REPORT_EVERY_MS);
}

document.getElementById("campaign-edit").addEventListener("click", () => {
  location.hash = "#edit/" + state.campaign.id;
});

const returnBudget = oneChange(
  () => state.campaign.id,
  (id, key) => api("POST", `/v1/campaigns/${encodeURIComponent(id)}/budget-return`, undefined, { key }),
);

document.getElementById("campaign-return").addEventListener("click", (event) =>
  withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      const answer = await returnBudget();
      await refreshReport();
      say(problem, t("office.returned", { points: points(answer.returned) }), "ok");
    } catch (error) {
      say(problem, refusal(error));
    }
  }),
);

// --- the lottery ------------------------------------------------------------------------------

function renderApplications() {
  if (!state.report || !state.campaign || !state.campaign.lottery_seed_sha256) return;
  document.getElementById("lottery-applications").textContent = t("office.lottery.applications", {
    count: yen(state.report.applications),
    sets: yen(state.report.sets_applied),
  });
}

// The draw is offered once applications have closed (the report's refresh brings it on time).
function renderDrawButton() {
  const closed = Date.now() >= Date.parse(state.campaign.terms.applications_until);
  document.getElementById("lottery-draw").hidden = !(state.admin && !state.lottery.seed && closed);
}

function renderLottery() {
  const { campaign, lottery } = state;
  document.getElementById("lottery-commitment").textContent = campaign.lottery_seed_sha256;
  renderDrawButton();
  document.getElementById("lottery-drawn").hidden = !lottery.seed;
  if (!lottery.seed) return;
  document.getElementById("lottery-seed").textContent = lottery.seed;
  document.getElementById("lottery-rounds").replaceChildren(
    ...lottery.rounds.map((round) =>
      el(
        "details",
        { open: round === lottery.rounds[lottery.rounds.length - 1] },
        el("summary", {
          text: t("office.lottery.round-title", {
            round: round.round,
            sets: yen(round.sets),
            from: dateTime(round.purchase_from),
            until: dateTime(round.purchase_until),
          }),
        }),
        round.winners.length === 0
          ? el("p", { text: t("office.lottery.no-winner") })
          : el("ol", { class: "winners" }, round.winners.map((winner) => el("li", { text: t("office.lottery.winner", { id: winner.id, sets: yen(winner.sets) }) }))),
      ),
    ),
  );
  const last = lottery.rounds[lottery.rounds.length - 1];
  document.getElementById("round-form").hidden = !(state.admin && last && Date.now() >= Date.parse(last.purchase_until));
}

async function loadLottery() {
  state.lottery = await api("GET", `/v1/campaigns/${encodeURIComponent(state.campaign.id)}/lottery`);
  renderLottery();
}

const drawLottery = oneChange(
  () => state.campaign.id,
  (id, key) => api("POST", `/v1/campaigns/${encodeURIComponent(id)}/lottery/draw`, undefined, { key }),
);

document.getElementById("lottery-draw").addEventListener("click", (event) =>
  withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      state.lottery = await drawLottery();
      renderLottery();
      await refreshReport();
      say(problem, t("office.lottery.drawn"), "ok");
    } catch (error) {
      say(problem, refusal(error));
    }
  }),
);

document.getElementById("lottery-check").addEventListener("click", (event) =>
  withButtonOff(event.target, async () => {
    const verdict = document.getElementById("lottery-verdict");
    // Checked against what the service publishes now, not what this page drew earlier.
    const lottery = await api("GET", `/v1/campaigns/${encodeURIComponent(state.campaign.id)}/lottery`);
    const outcome = await checkLottery(lottery, state.campaign.lottery_seed_sha256);
    verdict.hidden = false;
    verdict.className = outcome.ok ? "notice ok" : "notice error";
    verdict.textContent = outcome.ok
      ? t("office.lottery.ok", { rounds: outcome.rounds })
      : outcome.round === 0
        ? t("office.lottery.bad-seed")
        : t("office.lottery.bad-round", { round: outcome.round });
  }),
);

const nextRound = oneChange(
  () => {
    const input = document.getElementById("round-until");
    if (!input.value) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return null;
    }
    input.removeAttribute("aria-invalid");
    return { purchase_until: tokyoIso(input.value) };
  },
  (body, key) => api("POST", `/v1/campaigns/${encodeURIComponent(state.campaign.id)}/lottery/rounds`, body, { key }),
);

document.getElementById("round-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.target.querySelector("button"), async () => {
    say(problem, "");
    try {
      const drawn = await nextRound();
      if (!drawn) {
        say(problem, t("refusal.invalid_request"));
        return;
      }
      state.lottery = drawn;
      renderLottery();
      await refreshReport();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- the benefit's payment list ---------------------------------------------------------------

const MOST_SUBJECTS = 10_000;

// The residents a CSV names: its first column, a heading row ("subject") left out.
function subjectsOf(text) {
  const subjects = csvRows(text)
    .map(([first]) => first)
    .filter((first, index) => first && !(index === 0 && first.toLowerCase() === "subject"));
  return [...new Set(subjects)];
}

let payment = null; // the one change paying the list previewed

function renderPreview(preview) {
  const box = document.getElementById("benefit-preview");
  box.hidden = false;
  const children = [
    el("p", {
      class: "notice",
      role: "status",
      text: t("office.benefit.summary", {
        paid: yen(preview.paid.length),
        points: points(preview.points),
        before: yen(preview.paid_before.length),
        refused: yen(preview.refused.length),
      }),
    }),
  ];
  if (preview.refused.length > 0) {
    children.push(
      el(
        "table",
        { class: "lines" },
        el("caption", { text: t("office.benefit.refused") }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: t("office.benefit.subject") }), el("th", { scope: "col", text: t("office.benefit.reason") }))),
        el("tbody", {}, preview.refused.map((refused) => el("tr", {}, el("td", { text: refused.subject }), el("td", { text: t("office.refused." + refused.code) })))),
      ),
    );
  }
  if (preview.paid.length > 0 && state.admin) {
    children.push(el("div", { class: "actions" }, el("button", { type: "button", id: "benefit-pay", onclick: pay, text: t("office.benefit.pay", { count: yen(preview.paid.length) }) })));
  }
  box.replaceChildren(...children);
}

async function pay(event) {
  await withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      const paid = await payment();
      event.target.hidden = true;
      say(problem, t("office.benefit.paid", { count: yen(paid.paid.length), points: points(paid.points) }), "ok");
      await refreshReport();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
}

document.getElementById("benefit-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.target.querySelector("button"), async () => {
    say(problem, "");
    const input = document.getElementById("benefit-file");
    const file = input.files[0];
    if (!file) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      say(problem, t("office.benefit.empty"));
      return;
    }
    input.removeAttribute("aria-invalid");
    const subjects = subjectsOf(await file.text());
    if (subjects.length === 0 || subjects.length > MOST_SUBJECTS) {
      say(problem, t(subjects.length === 0 ? "office.benefit.empty" : "office.benefit.too-many", { most: yen(MOST_SUBJECTS) }));
      return;
    }
    const id = state.campaign.id;
    try {
      const preview = await api("POST", `/v1/campaigns/${encodeURIComponent(id)}/benefit-payouts/preview`, { subjects });
      payment = oneChange(
        () => ({ subjects }),
        (body, key) => api("POST", `/v1/campaigns/${encodeURIComponent(id)}/benefit-payouts`, body, { key }),
      );
      renderPreview(preview);
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- routing ----------------------------------------------------------------------------------

// One view drawn at a time, in the order asked: a view left while it loaded does not come back.
const route = serially(drawRoute);

async function drawRoute() {
  stopReports();
  say(problem, "");
  const [view, id] = location.hash.slice(1).split("/");
  try {
    if (view === "campaign" && id) await showCampaign(decodeURIComponent(id));
    else if (view === "edit" && id && state.admin) await showForm(decodeURIComponent(id));
    else if (view === "new" && state.admin) await showForm(null);
    else await showList();
    if (state.done) say(problem, state.done, "ok");
  } catch (error) {
    say(problem, refusal(error));
  }
  state.done = null;
}

async function start() {
  const session = await staffSession({
    path: "/campaign-office/",
    roles: READERS,
    notStaff: "office.not-staff",
    problem,
    onChange: () => {
      if (state.session) route();
    },
  });
  if (!session) return;
  state.session = session;
  state.admin = session.roles.includes("campaign_admin");
  for (const element of document.querySelectorAll("[data-admin]")) element.hidden = !state.admin;
  document.getElementById("tabs").hidden = false;
  state.regions = (await api("GET", "/v1/regions")).regions;
  await route();
}

document.getElementById("list-region").addEventListener("change", (event) => {
  state.region = event.target.value;
  campaignList.reload().catch((error) => say(problem, refusal(error)));
});
window.addEventListener("hashchange", route);
start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
