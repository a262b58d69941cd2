// City hall's counter screen: the cashier opens the shift, builds an invoice from the fee
// catalogue, shows its code on the display facing the resident and hears the payment arrive;
// takes a card and PIN from a resident without a phone, cash for a top-up, prints receipts
// and closes the day. A supervisor cancels a paid line; the fee catalogue is here for all.

import { api, ApiError, currentSession, oneChange, signIn, signOut } from "/static/api.js";
import { qrImage } from "/static/qr.js";
import {
  addMessages,
  businessDay,
  chime,
  el,
  language,
  refusal,
  say,
  setUpHeader,
  showView,
  t,
  translate,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { MESSAGES } from "/city-hall/messages.js";
import { feeReceipt, setUpPaper } from "/city-hall/receipt.js";
import { drawTopupReceipt, setUpClose, setUpTopup, showClose, showTopup } from "/city-hall/desk.js";
import { setUpFees, showFees } from "/city-hall/fees.js";
import { setUpRefund, setUpRevenue, showRefund, showRevenue } from "/city-hall/supervisor.js";

addMessages(MESSAGES);

const problem = document.getElementById("problem");
const money = (amount) => t("yen", { amount: yen(amount) });
const state = {
  session: null,
  counter: null, // CounterOut, for a cashier
  shift: null,
  catalogue: [], // FeeOut of today, for a cashier's counter's region
  basket: new Map(), // procedure code -> { fee, quantity }
  invoice: null, // the InvoiceOut shown and not yet paid
  paid: null, // { invoice, receipt } of the last payment, for its receipt
  timer: null,
};
// What the other views of this page share with this one.
const context = { state, problem, refreshCounter: () => refreshCounter() };

const roleViews = {
  cashier: ["counter", "topup", "close", "fees"],
  supervisor: ["refund", "revenue", "fees"],
  operator: ["revenue", "fees"],
  auditor: ["revenue", "fees"],
};

function viewsOf(session) {
  const views = new Set();
  for (const role of session.roles) for (const view of roleViews[role] || []) views.add(view);
  return views;
}

const procedureName = (item) => (language() === "ja" ? item.name_ja : item.name_en);

// --- the shift ------------------------------------------------------------------------------

async function refreshCounter() {
  const now = await api("GET", `/v1/counters/${state.session.counter}/now`);
  state.counter = now.counter;
  state.shift = now.shift;
  document.getElementById("shift-closed").hidden = Boolean(now.shift);
  document.getElementById("shift-opened").hidden = !now.shift;
  if (now.shift) {
    document.getElementById("shift-line").textContent = t("city.shift.line", {
      counter: now.counter.name,
      cashier: now.shift.cashier,
      date: businessDay(now.shift.business_date),
    });
  }
  return now;
}

const openShift = oneChange(
  () => ({}),
  (_body, key) => api("POST", `/v1/counters/${state.session.counter}/shifts`, undefined, { key }),
);

document.getElementById("shift-open").addEventListener("click", (event) =>
  withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      await openShift();
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "shift_already_open")) {
        say(problem, refusal(error));
        return;
      }
    }
    await refreshCounter();
    await loadCatalogue();
    document.getElementById("fee-search").focus();
  }),
);

document.getElementById("display-open").addEventListener("click", () => {
  window.open("/city-hall/display.html", "aizu-counter-display", "popup,width=900,height=700");
});

// --- the invoice ----------------------------------------------------------------------------

async function loadCatalogue() {
  const { fees } = await api("GET", `/v1/regions/${state.counter.region}/fees`);
  state.catalogue = fees;
}

// Folded for matching: full-width letters and digits as half-width, lower case.
const folded = (text) => text.normalize("NFKC").toLowerCase();

function matches() {
  const query = folded(document.getElementById("fee-search").value.trim());
  if (!query) return [];
  return state.catalogue
    .filter((item) => [item.procedure, item.name_ja, item.name_en].some((text) => folded(text).includes(query)))
    .slice(0, 8);
}

function renderMatches() {
  const found = matches();
  const list = document.getElementById("fee-matches");
  const query = document.getElementById("fee-search").value.trim();
  if (query && found.length === 0) {
    list.replaceChildren(el("li", { class: "quiet", text: t("city.invoice.no-match") }));
    return;
  }
  list.replaceChildren(
    ...found.map((item) =>
      el(
        "li",
        { class: "row" },
        el("span", {}, procedureName(item), " ", el("span", { class: "quiet", text: item.procedure })),
        el(
          "span",
          { class: "row" },
          el("span", { class: "amount", text: money(item.fee) }),
          el("button", {
            type: "button",
            class: "secondary",
            text: t("city.invoice.add-one"),
            "aria-label": `${t("city.invoice.add-one")} ${procedureName(item)}`,
            onclick: () => addToBasket(item),
          }),
        ),
      ),
    ),
  );
}

function addToBasket(item) {
  const line = state.basket.get(item.procedure);
  state.basket.set(item.procedure, { fee: item, quantity: Math.min((line ? line.quantity : 0) + 1, 99) });
  const search = document.getElementById("fee-search");
  search.value = "";
  renderMatches();
  renderBasket();
  showInvoice.reset();
  search.focus();
}

function basketTotal() {
  let total = 0;
  for (const { fee, quantity } of state.basket.values()) total += fee.fee * quantity;
  return total;
}

function renderBasket() {
  const rows = [...state.basket.entries()].map(([code, line]) => {
    const name = procedureName(line.fee);
    const quantity = el("input", {
      type: "number",
      min: "1",
      max: "99",
      value: String(line.quantity),
      class: "quantity",
      "aria-label": t("city.line.quantity-of", { name }),
      onchange: (event) => {
        const value = Math.round(Number(event.target.value));
        line.quantity = Number.isFinite(value) ? Math.min(Math.max(value, 1), 99) : 1;
        showInvoice.reset();
        renderBasket();
      },
    });
    return el(
      "tr",
      { "data-procedure": code },
      el("td", {}, name),
      el("td", {}, quantity),
      el("td", { class: "number amount", text: money(line.fee.fee * line.quantity) }),
      el(
        "td",
        {},
        el("button", {
          type: "button",
          class: "secondary",
          text: "×",
          "aria-label": t("city.line.remove-one", { name }),
          onclick: () => {
            state.basket.delete(code);
            showInvoice.reset();
            renderBasket();
          },
        }),
      ),
    );
  });
  document.getElementById("basket-lines").replaceChildren(...rows);
  document.getElementById("basket").hidden = rows.length === 0;
  document.getElementById("basket-empty").hidden = rows.length > 0;
  document.getElementById("basket-total").textContent = rows.length
    ? t("city.invoice.total", { amount: money(basketTotal()) })
    : "";
  document.getElementById("invoice-show").disabled = rows.length === 0;
}

const fieldsOfBuild = document.getElementById("build");
const showInvoice = oneChange(
  () => {
    if (state.basket.size === 0) return null;
    return {
      lines: [...state.basket.entries()].map(([procedure, line]) => ({ procedure, quantity: line.quantity })),
    };
  },
  (body, key) => api("POST", `/v1/counters/${state.session.counter}/invoices`, body, { key }),
);

document.getElementById("fee-search").addEventListener("input", renderMatches);
document.getElementById("fee-search").addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  const [first] = matches();
  if (first) addToBasket(first);
});

document.getElementById("invoice-show").addEventListener("click", (event) =>
  withButtonOff(event.target, async () => {
    say(problem, "");
    try {
      const shown = await showInvoice();
      if (shown) invoiceShown(shown.invoice, shown.qr_payload);
    } catch (error) {
      say(problem, refusal(error));
    }
  }),
);

function invoiceShown(invoice, payload) {
  state.invoice = invoice;
  fieldsOfBuild.hidden = true;
  document.getElementById("paid").hidden = true;
  document.getElementById("counter-receipt").hidden = true;
  document.getElementById("shown").hidden = false;
  document.getElementById("shown-total").textContent = money(invoice.total);
  document
    .getElementById("shown-code")
    .replaceChildren(qrImage(payload, t("city.display.scan") + " " + money(invoice.total), { cellSize: 4 }));
  say(document.getElementById("shown-status"), t("city.invoice.waiting"), "");
  document.getElementById("card-pay").open = false;
  tick();
}

function tick() {
  clearTimeout(state.timer);
  if (!state.invoice) return;
  const left = Math.ceil((Date.parse(state.invoice.expires_at) - Date.now()) / 1000);
  const status = document.getElementById("shown-status");
  if (left <= 0) {
    document.getElementById("shown-code").replaceChildren();
    say(status, t("city.invoice.expired"), "warn");
    state.invoice = null;
    showInvoice.reset();
    fieldsOfBuild.hidden = false;
    return;
  }
  say(
    status,
    t("city.invoice.waiting") + " " + t("city.invoice.expires", { minutes: Math.floor(left / 60), seconds: left % 60 }),
    "",
  );
  state.timer = setTimeout(tick, 1000);
}

// An invoice was paid: by the app (heard on the stream) or by the card (the answer).
function invoicePaid(invoice, receipt) {
  if (!state.invoice || invoice.id !== state.invoice.id) return;
  clearTimeout(state.timer);
  state.invoice = null;
  state.paid = { invoice, receipt };
  document.getElementById("shown").hidden = true;
  document.getElementById("paid").hidden = false;
  document.getElementById("paid-total").textContent = money(invoice.total);
  document.getElementById("paid-receipt").textContent = t("city.receipt.number", { label: receipt.label });
  drawReceipt();
  document.getElementById("paid-next").focus();
  chime();
}

function drawReceipt() {
  if (state.paid) {
    feeReceipt(document.getElementById("counter-receipt"), { ...state.paid, counter: state.counter.name });
  }
}

function nextCustomer() {
  clearTimeout(state.timer);
  state.invoice = null;
  state.paid = null;
  state.basket.clear();
  showInvoice.reset();
  cardPayment.reset();
  renderBasket();
  document.getElementById("shown").hidden = true;
  document.getElementById("paid").hidden = true;
  document.getElementById("counter-receipt").hidden = true;
  fieldsOfBuild.hidden = false;
  document.getElementById("fee-search").focus();
}

document.getElementById("paid-next").addEventListener("click", nextCustomer);
document.getElementById("paid-print").addEventListener("click", () => window.print());
document.getElementById("shown-cancel").addEventListener("click", () => {
  clearTimeout(state.timer);
  state.invoice = null;
  showInvoice.reset();
  document.getElementById("shown").hidden = true;
  fieldsOfBuild.hidden = false;
});

// --- the card and PIN -----------------------------------------------------------------------

const cardForm = document.getElementById("card-form");
const cardPayment = oneChange(
  () => {
    const code = document.getElementById("card-code").value.trim();
    const pin = document.getElementById("card-pin").value.trim();
    if (!code || !/^[0-9]{4}$/.test(pin)) return null;
    return { invoice: state.invoice.id, card: { qr_payload: code, pin } };
  },
  (body, key) => api("POST", `/v1/invoices/${body.invoice}/card-payments`, body.card, { key }),
);

cardForm.addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(cardForm.querySelector("button"), async () => {
    say(problem, "");
    try {
      const paid = await cardPayment();
      if (paid === null) {
        say(problem, t("refusal.validation_error"));
        return;
      }
      cardForm.reset();
      invoicePaid(paid.invoice, { label: paid.receipt_number, issued_at: paid.issued_at });
    } catch (error) {
      document.getElementById("card-pin").value = "";
      say(problem, refusal(error));
    }
  });
});

// --- the event stream -----------------------------------------------------------------------

function listen() {
  const live = document.getElementById("live");
  const events = new EventSource(`/v1/counters/${state.session.counter}/events`);
  events.onopen = () => {
    live.textContent = t("city.live.on");
    // Back after a drop: a payment made meanwhile is read from the counter, not the stream.
    if (state.invoice) {
      refreshCounter()
        .then((now) => now.invoice && now.invoice.receipt && invoicePaid(now.invoice.invoice, now.invoice.receipt))
        .catch(() => {});
    }
  };
  events.onerror = () => (live.textContent = t("city.live.off"));
  events.addEventListener("invoice", (event) => {
    const shown = JSON.parse(event.data);
    if (shown.receipt) invoicePaid(shown.invoice, shown.receipt);
  });
}

// --- routing --------------------------------------------------------------------------------

async function route() {
  const allowed = viewsOf(state.session);
  const wanted = location.hash.slice(1);
  const view = allowed.has(wanted) ? wanted : [...allowed][0];
  say(problem, "");
  try {
    if (view === "counter") {
      showView("counter");
      renderBasket();
    } else if (view === "topup") {
      showTopup(context);
    } else if (view === "close") {
      showClose(context);
    } else if (view === "refund") {
      showRefund(context);
    } else if (view === "revenue") {
      await showRevenue(context);
    } else {
      await showFees(context);
    }
  } catch (error) {
    say(problem, refusal(error));
  }
}

async function start() {
  setUpHeader({
    onChange: () => {
      renderBasket();
      renderMatches();
      drawReceipt();
      drawTopupReceipt(context);
      route();
    },
    onSignOut: async () => {
      location.assign((await signOut()) || "/signin/?next=/city-hall/");
    },
  });
  translate();
  const session = await currentSession();
  if (!session) {
    signIn();
    return;
  }
  state.session = session;
  const allowed = viewsOf(session);
  if (allowed.size === 0) {
    say(problem, t("city.not-staff"), "warn");
    showView("none");
    return;
  }
  const tabs = document.getElementById("tabs");
  for (const link of tabs.querySelectorAll("a")) link.hidden = !allowed.has(link.getAttribute("href").slice(1));
  tabs.hidden = false;
  if (session.roles.includes("cashier")) {
    const now = await refreshCounter();
    document.getElementById("city-title").textContent = now.counter.name;
    await loadCatalogue();
    listen();
    if (now.invoice && now.invoice.qr_payload) {
      // The page was reloaded while an invoice waits: show it again, with its code.
      invoiceShown(now.invoice.invoice, now.invoice.qr_payload);
    }
  }
  await route();
}

setUpPaper(() => {
  drawReceipt();
  drawTopupReceipt(context);
});
setUpTopup(context);
setUpClose(context);
setUpRefund(context);
setUpRevenue(context);
setUpFees(context);
window.addEventListener("hashchange", route);
start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
