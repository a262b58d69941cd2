// The receipts a counter prints: the numbered receipt of fees paid, and the slip of cash paid
// in. Drawn on the screen as a preview, printed alone on A6 or an 80 mm receipt roll.

import { dateTime, el, language, t, yen } from "/static/ui.js";

const PAPER_KEY = "aizu.city-hall.paper";
const money = (amount) => t("yen", { amount: yen(amount) });

export function paper() {
  return localStorage.getItem(PAPER_KEY) === "r80" ? "r80" : "a6";
}

// The paper choice of this counter's printer, kept in this browser.
export function setUpPaper(onChange) {
  for (const radio of document.querySelectorAll("input[name=paper]")) {
    radio.checked = radio.value === paper();
    radio.addEventListener("change", () => {
      localStorage.setItem(PAPER_KEY, radio.value);
      onChange();
    });
  }
}

function sheet(container, ...children) {
  container.className = "print-sheet receipt " + paper();
  container.replaceChildren(...children);
  container.hidden = false;
}

function line(label, amount, attributes = {}) {
  return el("div", { class: "row", ...attributes }, el("span", { text: label }), el("span", { class: "amount", text: money(amount) }));
}

// The numbered receipt of an invoice paid: `receipt` is { label, issued_at }, `counter` the
// counter's name.
export function feeReceipt(container, { invoice, receipt, counter }) {
  const name = (item) => (language() === "ja" ? item.name_ja : item.name_en);
  sheet(
    container,
    el("p", { class: "print-brand", text: t("city.receipt.title") }),
    el("p", { text: t("city.receipt.number", { label: receipt.label }) }),
    el("p", { text: t("city.receipt.issued", { time: dateTime(receipt.issued_at) }) }),
    el("p", { text: t("city.receipt.counter", { counter }) }),
    el(
      "div",
      { class: "receipt-lines" },
      invoice.lines.map((item) =>
        line(t("city.receipt.line", { name: name(item), quantity: item.quantity }), item.amount),
      ),
    ),
    line(t("city.receipt.total"), invoice.total, { class: "row receipt-total" }),
    el("p", { text: t("city.receipt.paid-with") }),
    el("p", { class: "quiet", text: t("city.receipt.keep") }),
  );
}

// The slip of cash paid in at the counter (`TopupReceiptOut`).
export function topupReceipt(container, { topup, recorded_at, balance }, counter) {
  sheet(
    container,
    el("p", { class: "print-brand", text: t("city.receipt.topup-title") }),
    el("p", { text: t("city.receipt.topup-number", { number: topup.id }) }),
    el("p", { text: t("city.receipt.issued", { time: dateTime(recorded_at) }) }),
    el("p", { text: t("city.receipt.counter", { counter }) }),
    el("p", { text: t("city.receipt.topup-wallet", { wallet: topup.wallet_id }) }),
    line(t("city.receipt.topup-amount"), topup.amount, { class: "row receipt-total" }),
    el(
      "div",
      { class: "row" },
      el("span", { text: t("city.receipt.topup-balance") }),
      el("span", { class: "amount", text: t("points", { amount: yen(balance.available) }) }),
    ),
  );
}
