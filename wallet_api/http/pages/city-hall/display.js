// The display facing the resident at a city counter: what the cashier charged, line by line,
// its code to scan, and thanks once it is paid. Opened by the cashier (a second window, moved
// to the screen the resident sees) and kept up to date by the counter's event stream.

import { api, ApiError, currentSession, signIn } from "/static/api.js";
import { qrImage } from "/static/qr.js";
import { addMessages, el, language, refusal, say, setUpHeader, showView, t, translate, yen } from "/static/ui.js";
import { MESSAGES } from "/city-hall/messages.js";

addMessages(MESSAGES);

const problem = document.getElementById("problem");
const money = (amount) => t("yen", { amount: yen(amount) });
let counter = null;
let current = null; // the CounterInvoiceOut shown
let timer = null;

function show(shown) {
  current = shown;
  clearTimeout(timer);
  if (!shown) {
    showView("idle");
    return;
  }
  const { invoice, qr_payload: payload, receipt } = shown;
  if (receipt) {
    showView("paid");
    document.getElementById("display-paid-total").textContent = money(invoice.total);
    document.getElementById("display-receipt").textContent = t("city.display.receipt", { label: receipt.label });
    // Thanks for a while, then ready for the next resident.
    timer = setTimeout(() => show(null), 20_000);
    return;
  }
  const left = Date.parse(invoice.expires_at) - Date.now();
  if (!payload || left <= 0) {
    showView("expired");
    return;
  }
  showView("invoice");
  const name = (line) => (language() === "ja" ? line.name_ja : line.name_en);
  document.getElementById("display-lines").replaceChildren(
    ...invoice.lines.map((line) =>
      el(
        "li",
        { class: "row" },
        el("span", { text: t("city.receipt.line", { name: name(line), quantity: line.quantity }) }),
        el("span", { class: "amount", text: money(line.amount) }),
      ),
    ),
  );
  document.getElementById("display-total").textContent = t("city.invoice.total", { amount: money(invoice.total) });
  document.getElementById("display-code").replaceChildren(qrImage(payload, t("city.display.scan") + " " + money(invoice.total)));
  timer = setTimeout(() => show(current), left);
}

async function readCounter() {
  const now = await api("GET", `/v1/counters/${counter}/now`);
  document.getElementById("display-counter").textContent = now.counter.name;
  if (!now.shift) {
    current = null;
    showView("closed");
    return;
  }
  // A paid invoice from before this page opened is not thanked for again.
  show(now.invoice && !now.invoice.receipt ? now.invoice : null);
}

function listen() {
  const events = new EventSource(`/v1/counters/${counter}/events`);
  // Each (re)connection reads the counter again: what changed while the stream was down.
  events.onopen = () => readCounter().catch((error) => say(problem, refusal(error)));
  events.addEventListener("invoice", (event) => show(JSON.parse(event.data)));
}

async function start() {
  setUpHeader({ onChange: () => show(current) });
  translate();
  const session = await currentSession();
  if (!session) {
    signIn();
    return;
  }
  if (!session.counter) {
    say(problem, t("city.display.counter-only"), "warn");
    showView("none");
    return;
  }
  counter = session.counter;
  await readCounter();
  listen();
  // No event says a shift opened or closed: while nothing is on screen, look now and then.
  setInterval(() => {
    if (!current) readCounter().catch(() => {});
  }, 30_000);
}

start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
