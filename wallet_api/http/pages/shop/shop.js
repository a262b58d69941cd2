// The shop's till: register this browser's key as a terminal, show the signed code of a sale,
// hear the payment arrive on the event stream, and see and refund today's payments.

import { api, ApiError, currentSession, oneChange, signIn, signOut } from "/static/api.js";
import { dynamicCode } from "/static/emv.js";
import { base64url, generateKey, loadKey, saveKey, sign } from "/static/keys.js";
import { qrImage } from "/static/qr.js";
import { setUpB2b, showB2b } from "/shop/b2b.js";
import { showMoney } from "/shop/money.js";
import { setUpPrint, showPrint } from "/shop/print.js";
import { setUpScan, showScan, stopScan } from "/shop/scan.js";
import {
  chime,
  el,
  refusal,
  requireAmount,
  say,
  setUpHeader,
  showView,
  t,
  time,
  tokyoDate,
  translate,
  withButtonOff,
  yen,
} from "/static/ui.js";

const CODE_LIFETIME_SECONDS = 180;
const problem = document.getElementById("problem");
const state = {
  merchant: null,
  terminal: null,
  sale: null,
  events: null,
  payments: new Map(),
  // Each payment's refund as one change: kept across redrawings of the list, so a refund whose
  // answer was lost goes again under the same key.
  refunds: new Map(),
};

const money = (amount) => t("yen", { amount: yen(amount) });
// What the till's other views share with this one.
const context = { state, problem, paymentArrived: (payment) => paymentArrived(payment) };

// --- the till's key -------------------------------------------------------------------------

document.getElementById("register-form").addEventListener("submit", (event) => {
  event.preventDefault();
  say(problem, "");
  return withButtonOff(event.target.querySelector("button"), async () => {
    try {
      const key = await generateKey();
      const terminal = await api("POST", `/v1/merchants/${state.merchant.id}/terminals`, {
        label: document.getElementById("till-label").value || "till",
        public_key: key.publicKey,
      });
      state.terminal = { ...key, terminalId: terminal.id, merchantId: state.merchant.id };
      await saveKey("terminal:" + state.merchant.id, state.terminal);
      location.hash = "#sell";
      await route();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- a sale ---------------------------------------------------------------------------------

async function showSale(amount) {
  const startedAt = new Date();
  const expiresAt = new Date(startedAt.getTime() + CODE_LIFETIME_SECONDS * 1000);
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(12)));
  const payload = await dynamicCode({
    merchant: state.merchant,
    terminalId: state.terminal.terminalId,
    amount,
    expiresAt,
    nonce,
    sign: (bytes) => sign(state.terminal.privateKey, bytes),
  });
  state.sale = { amount, startedAt, expiresAt, nonce, payload };
  document.getElementById("sell-form").hidden = true;
  document.getElementById("paid").hidden = true;
  document.getElementById("sale").hidden = false;
  document.getElementById("sale-total").textContent = money(amount);
  document
    .getElementById("sale-code")
    .replaceChildren(qrImage(payload, t("shop.sell.show-customer") + " " + money(amount)));
  say(document.getElementById("sale-status"), t("shop.sell.waiting"), "");
  tick();
}

function tick() {
  clearTimeout(state.timer);
  if (!state.sale) return;
  const left = Math.ceil((state.sale.expiresAt - Date.now()) / 1000);
  const countdown = document.getElementById("sale-countdown");
  if (left <= 0) {
    countdown.textContent = "";
    document.getElementById("sale-code").replaceChildren();
    say(document.getElementById("sale-status"), t("shop.sell.expired"), "warn");
    state.sale = null;
    return;
  }
  countdown.textContent = t("shop.sell.expires", { seconds: left });
  state.timer = setTimeout(tick, 1000);
}

function newSale() {
  clearTimeout(state.timer);
  state.sale = null;
  document.getElementById("sale").hidden = true;
  document.getElementById("paid").hidden = true;
  document.getElementById("sell-form").hidden = false;
  const input = document.getElementById("sale-amount");
  input.value = "";
  input.focus();
}

function paymentArrived(payment) {
  state.payments.set(payment.id, payment);
  // This sale's code, by its nonce: not an earlier code of the same amount paid late.
  const sale = state.sale;
  if (!sale || payment.code_nonce !== sale.nonce) return;
  clearTimeout(state.timer);
  state.sale = null;
  document.getElementById("sale").hidden = true;
  document.getElementById("paid").hidden = false;
  document.getElementById("paid-amount").textContent = money(payment.amount);
  document.getElementById("paid-time").textContent = time(payment.created_at);
  document.getElementById("paid-new").focus();
  chime();
}

document.getElementById("sell-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say(problem, "");
  const amount = requireAmount(document.getElementById("sale-amount"), problem);
  if (amount === null) return;
  try {
    await showSale(amount);
  } catch (error) {
    say(problem, refusal(error));
  }
});
document.getElementById("sale-new").addEventListener("click", newSale);
document.getElementById("paid-new").addEventListener("click", newSale);

// --- the event stream -----------------------------------------------------------------------

function listen() {
  const live = document.getElementById("live");
  const events = new EventSource(`/v1/merchants/${state.merchant.id}/events`);
  events.onopen = () => {
    live.textContent = t("shop.live.on");
    // Back after a drop: what was paid meanwhile comes from the list, not the stream.
    if (state.sale) catchUp(state.sale).catch(() => {});
  };
  events.onerror = () => (live.textContent = t("shop.live.off"));
  events.addEventListener("payment", (event) => {
    const payment = JSON.parse(event.data);
    paymentArrived(payment);
    if (location.hash === "#today") renderToday();
  });
  state.events = events;
}

async function catchUp(sale) {
  const after = encodeURIComponent(sale.startedAt.toISOString());
  const page = await api("GET", `/v1/merchants/${state.merchant.id}/payments?after=${after}`);
  for (const payment of page.payments) paymentArrived(payment);
}

// --- today ----------------------------------------------------------------------------------

function startOfTodayInTokyo() {
  const tokyo = new Date(Date.now() + 9 * 3600 * 1000);
  tokyo.setUTCHours(0, 0, 0, 0);
  return new Date(tokyo.getTime() - 9 * 3600 * 1000);
}

// Today's date in Tokyo, as YYYY-MM-DD.

async function loadToday() {
  let after = startOfTodayInTokyo().toISOString();
  for (;;) {
    const page = await api(
      "GET",
      `/v1/merchants/${state.merchant.id}/payments?limit=500&after=${encodeURIComponent(after)}`,
    );
    for (const payment of page.payments) state.payments.set(payment.id, payment);
    if (page.payments.length < 500 || !page.next_after) break;
    after = page.next_after;
  }
}

// Today's payments as a CSV file, as a spreadsheet opens it (UTF-8 with its byte-order mark).
function downloadCsv() {
  const since = startOfTodayInTokyo().getTime();
  const rows = [["payment_id", "time", "method", "amount", "refunded", "net"]];
  for (const payment of [...state.payments.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))) {
    if (Date.parse(payment.created_at) < since) continue;
    rows.push([
      payment.id,
      payment.created_at,
      payment.method,
      payment.amount,
      payment.refunded,
      payment.amount - payment.refunded,
    ]);
  }
  const text = "\ufeff" + rows.map((row) => row.join(",")).join("\r\n") + "\r\n";
  const link = el("a", {
    href: URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" })),
    download: `sales-${state.merchant.id}-${tokyoDate()}.csv`,
  });
  document.body.append(link);
  link.click();
  link.remove();
}

function renderToday() {
  const since = startOfTodayInTokyo().getTime();
  const today = [...state.payments.values()]
    .filter((payment) => Date.parse(payment.created_at) >= since)
    .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const total = today.reduce((sum, payment) => sum + payment.amount - payment.refunded, 0);
  document.getElementById("today-total").textContent = t("shop.today.total", {
    amount: money(total),
    count: today.length,
  });
  document.getElementById("today-empty").hidden = today.length > 0;
  document.getElementById("today-list").replaceChildren(...today.map(paymentItem));
}

function refundOf(paymentId) {
  if (!state.refunds.has(paymentId)) {
    const change = oneChange(
      () => {
        const amount = requireAmount(document.getElementById("refund-" + paymentId), problem);
        return amount === null ? null : { amount };
      },
      (body, key) => api("POST", `/v1/payments/${paymentId}/refunds`, body, { key }),
    );
    state.refunds.set(paymentId, change);
  }
  return state.refunds.get(paymentId);
}

function paymentItem(payment) {
  const left = payment.amount - payment.refunded;
  const item = el(
    "li",
    { "data-payment": payment.id },
    el(
      "div",
      { class: "row" },
      el(
        "span",
        {},
        el("strong", { text: time(payment.created_at) }),
        " ",
        t("shop.method." + payment.method),
        payment.refunded
          ? el("span", {
              class: "quiet",
              text: " · " + t("shop.today.refunded", { amount: money(payment.refunded) }),
            })
          : null,
      ),
      el("span", { class: "amount", text: money(payment.amount) }),
    ),
  );
  if (left > 0) {
    const form = el("form", { class: "refund", hidden: true, novalidate: true });
    const inputId = "refund-" + payment.id;
    const hintId = inputId + "-hint";
    const input = el("input", {
      id: inputId,
      inputmode: "numeric",
      value: String(left),
      "aria-describedby": hintId,
    });
    form.append(
      el("label", { for: inputId, text: t("shop.today.refund-amount") }),
      el("span", { class: "hint", id: hintId, text: t("shop.today.refund-hint", { amount: money(left) }) }),
      input,
      el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: t("shop.today.refund-do") })),
    );
    const button = form.querySelector("button");
    const refund = refundOf(payment.id);
    const unanswered = refund.unanswered();
    if (unanswered) {
      // A refund whose answer was lost, and the list drawn again: the same refund goes again.
      input.value = String(unanswered.amount);
      input.readOnly = true;
      form.hidden = false;
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(problem, "");
      button.disabled = true;
      try {
        const refunded = await refund();
        if (!refunded) return;
        state.payments.set(payment.id, refunded.payment);
        renderToday();
        say(problem, t("shop.today.refund-done", { amount: money(refunded.amount) }), "ok");
      } catch (error) {
        input.readOnly = refund.unanswered() !== null;
        say(problem, refusal(error));
      } finally {
        button.disabled = false;
      }
    });
    const open = el("button", {
      type: "button",
      class: "secondary",
      text: t("shop.today.refund"),
      "aria-expanded": "false",
      onclick: () => {
        form.hidden = !form.hidden;
        open.setAttribute("aria-expanded", String(!form.hidden));
        if (!form.hidden) input.focus();
      },
    });
    item.append(el("div", { class: "actions" }, open), form);
  }
  return item;
}

// --- routing --------------------------------------------------------------------------------

async function route() {
  if (!state.terminal) return;
  document.getElementById("tabs").hidden = false;
  const view = location.hash.slice(1) || "sell";
  if (view !== "scan") stopScan();
  say(problem, "");
  try {
    if (view === "today") {
      showView("today");
      await loadToday();
      renderToday();
    } else if (view === "scan") {
      showScan();
    } else if (view === "money") {
      await showMoney(context);
    } else if (view === "print") {
      await showPrint(context);
    } else if (view === "b2b") {
      showB2b();
    } else {
      showView("sell");
    }
  } catch (error) {
    say(problem, refusal(error));
  }
}

async function start() {
  setUpHeader({
    onChange: () => route(),
    onSignOut: async () => {
      location.assign((await signOut()) || "/signin/?next=/shop/");
    },
  });
  translate();
  const session = await currentSession();
  if (!session) {
    signIn();
    return;
  }
  if (!session.merchant || !session.roles.includes("merchant_staff")) {
    say(problem, t("shop.not-staff"), "warn");
    showView("none");
    return;
  }
  state.merchant = await api("GET", `/v1/merchants/${session.merchant}`);
  document.getElementById("shop-title").textContent = state.merchant.display_name;
  listen();
  state.terminal = await loadKey("terminal:" + state.merchant.id);
  if (state.terminal) {
    const { terminals } = await api("GET", `/v1/merchants/${state.merchant.id}/terminals`);
    const known = terminals.find((terminal) => terminal.id === state.terminal.terminalId);
    if (!known || known.status !== "active") state.terminal = null;
  }
  if (!state.terminal) {
    showView("register");
    return;
  }
  await route();
}

document.getElementById("today-csv").addEventListener("click", downloadCsv);
setUpScan(context);
setUpPrint();
setUpB2b(context);
window.addEventListener("hashchange", route);
start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
