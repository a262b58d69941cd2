// The counter's cash top-up and its daily close.

import { api, oneChange } from "/static/api.js";
import {
  businessDay,
  dateTime,
  el,
  language,
  refusal,
  requireAmount,
  say,
  showView,
  t,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { topupReceipt } from "/city-hall/receipt.js";

const CARD_PREFIX = "AIZUCARD1:";
const money = (amount) => t("yen", { amount: yen(amount) });
let lastTopup = null;

// --- cash top-up ----------------------------------------------------------------------------

export function showTopup() {
  showView("topup");
}

export function drawTopupReceipt(context) {
  if (lastTopup) topupReceipt(document.getElementById("topup-receipt"), lastTopup, context.state.counter.name);
}

export function setUpTopup(context) {
  const { state, problem } = context;
  const form = document.getElementById("topup-form");
  const who = document.getElementById("topup-card");
  const topUp = oneChange(
    () => {
      const scanned = who.value.trim();
      if (!scanned) {
        say(problem, t("city.topup.which"));
        who.focus();
        return null;
      }
      const amount = requireAmount(document.getElementById("topup-amount"), problem);
      if (amount === null) return null;
      // A card's scanned code names the card; anything else typed is a wallet number.
      return scanned.startsWith(CARD_PREFIX) ? { card: scanned, amount } : { wallet_id: scanned, amount };
    },
    (body, key) => api("POST", `/v1/counters/${state.session.counter}/topups`, body, { key }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(form.querySelector("button"), async () => {
      say(problem, "");
      try {
        const receipt = await topUp();
        if (!receipt) return;
        lastTopup = receipt;
        form.hidden = true;
        document.getElementById("topup-done").hidden = false;
        document.getElementById("topup-done-amount").textContent = money(receipt.topup.amount);
        document.getElementById("topup-done-balance").textContent = t("city.topup.balance", {
          amount: t("points", { amount: yen(receipt.balance.available) }),
        });
        drawTopupReceipt(context);
        document.getElementById("topup-next").focus();
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
  document.getElementById("topup-print").addEventListener("click", () => window.print());
  document.getElementById("topup-next").addEventListener("click", () => {
    lastTopup = null;
    form.reset();
    form.hidden = false;
    document.getElementById("topup-done").hidden = true;
    document.getElementById("topup-receipt").hidden = true;
    who.focus();
  });
}

// --- the daily close ------------------------------------------------------------------------

export function showClose() {
  showView("close");
}

function cell(text, attributes = {}) {
  return el("td", { ...attributes, text });
}

function table(caption, headings, rows) {
  return el(
    "table",
    { class: "lines" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headings.map(([text, number]) => el("th", { scope: "col", class: number ? "number" : null, text })))),
    el("tbody", {}, rows),
  );
}

// The close report as the cashier reads it and prints it: a department whose takings differ
// from what the ledger booked is marked, in words as well as colour.
export function closeReport(report, departmentNames) {
  const department = (code) => departmentNames.get(code) || code;
  const procedures = report.procedures.map((line) =>
    el(
      "tr",
      {},
      cell(line.name_ja),
      cell(yen(line.count), { class: "number" }),
      cell(money(line.gross), { class: "number" }),
      cell(money(line.refunded), { class: "number" }),
      cell(money(line.gross - line.refunded), { class: "number" }),
    ),
  );
  const departments = report.departments.map((line) =>
    el(
      "tr",
      { class: line.matches ? null : "mismatch", "data-department": line.department },
      cell(department(line.department)),
      cell(yen(line.count), { class: "number" }),
      cell(money(line.net), { class: "number" }),
      cell(money(line.ledger_net), { class: "number" }),
      cell(line.matches ? t("city.close.ok") : "⚠ " + t("city.close.mismatch"), { class: "check" }),
    ),
  );
  return [
    el("h3", { text: t("city.close.report", { date: businessDay(report.business_date) }) }),
    el("p", { text: t("city.close.cashier", { cashier: report.cashier, time: dateTime(report.closed_at) }) }),
    el("p", {
      class: report.matches ? "notice ok" : "notice error",
      id: "close-verdict",
      text: report.matches ? t("city.close.all-match") : t("city.close.some-mismatch"),
    }),
    report.procedures.length
      ? table(
          t("city.close.procedures"),
          [
            [t("city.line.procedure")],
            [t("city.close.count"), true],
            [t("city.close.gross"), true],
            [t("city.close.refunded"), true],
            [t("city.close.net"), true],
          ],
          procedures,
        )
      : el("p", { text: t("city.close.none") }),
    report.departments.length
      ? table(
          t("city.close.departments"),
          [
            [t("city.close.department")],
            [t("city.close.count"), true],
            [t("city.close.net"), true],
            [t("city.close.ledger"), true],
            [t("city.close.check")],
          ],
          departments,
        )
      : null,
    el("p", { class: "total", text: t("city.close.total", { amount: money(report.total), ledger: money(report.ledger_total) }) }),
    el("div", { class: "actions no-print" }, el("button", { type: "button", class: "secondary", text: t("city.close.print"), onclick: () => window.print() })),
  ];
}

export function setUpClose(context) {
  const { state, problem } = context;
  const button = document.getElementById("close-do");
  const closeShift = oneChange(
    () => ({}),
    (_body, key) => api("POST", `/v1/counters/${state.session.counter}/shifts/close`, undefined, { key }),
  );
  let sure = false;
  button.addEventListener("click", () =>
    withButtonOff(button, async () => {
      say(problem, "");
      if (!sure) {
        // Closing ends the shift for good: a second press, after the words say so.
        sure = true;
        say(problem, t("city.close.sure"), "warn");
        return;
      }
      sure = false;
      try {
        const { report } = await closeShift();
        const { departments } = await api("GET", `/v1/regions/${state.counter.region}/departments`);
        const names = new Map(departments.map((d) => [d.code, language() === "ja" ? d.name_ja : d.name_en]));
        document.getElementById("close-ask").hidden = true;
        const shown = document.getElementById("close-report");
        shown.replaceChildren(...closeReport(report, names).filter(Boolean));
        shown.hidden = false;
        await context.refreshCounter();
      } catch (error) {
        say(problem, refusal(error));
      }
    }),
  );
}
