// What a supervisor does at city hall: find a receipt from its paper and cancel a paid line of
// it (the fee goes back to the wallet), and download a day's fee revenue for the accounts.

import { api, oneChange } from "/static/api.js";
import {
  dateTime,
  el,
  fillRegions,
  language,
  refusal,
  say,
  showView,
  t,
  tokyoDate,
  withButtonOff,
  yen,
} from "/static/ui.js";

const money = (amount) => t("yen", { amount: yen(amount) });
const procedureName = (item) => (language() === "ja" ? item.name_ja : item.name_en);


// --- cancel a paid line ---------------------------------------------------------------------

let found = null; // the ReceiptRecordOut shown
const cancellations = new Map(); // "<invoice>:<line>" -> its one change, kept across redrawings

export function showRefund() {
  showView("refund");
}

function cancellationOf(invoiceId, lineNo, reasonInput) {
  const key = `${invoiceId}:${lineNo}`;
  if (!cancellations.has(key)) {
    cancellations.set(
      key,
      oneChange(
        () => {
          const reason = reasonInput().value.trim();
          if (!reason) {
            reasonInput().setAttribute("aria-invalid", "true");
            reasonInput().focus();
            return null;
          }
          return { line_no: lineNo, reason };
        },
        (body, idempotencyKey) =>
          api("POST", `/v1/invoices/${invoiceId}/cancellations`, body, { key: idempotencyKey }),
      ),
    );
  }
  return cancellations.get(key);
}

function renderReceipt(problem) {
  const container = document.getElementById("receipt-found");
  const { receipt, invoice, refunded_lines: refunded } = found;
  const rows = invoice.lines.map((line) => {
    const name = procedureName(line);
    const status = el("td", {});
    if (refunded.includes(line.line_no)) {
      status.append(el("strong", { text: t("city.refund.line-refunded") }));
    } else {
      const reasonId = `reason-${invoice.id}-${line.line_no}`;
      const form = el("form", { class: "cancel", hidden: true, novalidate: true });
      const cancel = cancellationOf(invoice.id, line.line_no, () => document.getElementById(reasonId));
      form.append(
        el("label", { for: reasonId, text: t("city.refund.reason") }),
        el("input", { id: reasonId, maxlength: "500", autocomplete: "off" }),
        el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: t("city.refund.confirm") })),
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        return withButtonOff(form.querySelector("button"), async () => {
          say(problem, "");
          try {
            const refund = await cancel();
            if (!refund) return;
            found.refunded_lines = [...found.refunded_lines, refund.line_no];
            renderReceipt(problem);
            say(problem, t("city.refund.done", { name, amount: money(refund.amount), label: receipt.label }), "ok");
          } catch (error) {
            say(problem, refusal(error));
          }
        });
      });
      const open = el("button", {
        type: "button",
        class: "secondary",
        text: t("city.refund.cancel"),
        "aria-label": t("city.refund.cancel-of", { name }),
        "aria-expanded": "false",
        onclick: () => {
          form.hidden = !form.hidden;
          open.setAttribute("aria-expanded", String(!form.hidden));
          if (!form.hidden) document.getElementById(reasonId).focus();
        },
      });
      status.append(open, form);
    }
    return el(
      "tr",
      { "data-line": String(line.line_no) },
      el("td", { text: t("city.receipt.line", { name, quantity: line.quantity }) }),
      el("td", { class: "number amount", text: money(line.amount) }),
      status,
    );
  });
  container.replaceChildren(
    el("h3", { text: t("city.refund.found", { label: receipt.label, time: dateTime(receipt.issued_at) }) }),
    el(
      "table",
      { class: "lines" },
      el("caption", { text: t("city.receipt.counter", { counter: invoice.counter_id }) }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col", text: t("city.line.procedure") }),
          el("th", { scope: "col", class: "number", text: t("city.line.amount") }),
          el("th", { scope: "col", text: t("city.close.check") }),
        ),
      ),
      el("tbody", {}, rows),
    ),
    el("p", { class: "total", text: t("city.invoice.total", { amount: money(invoice.total) }) }),
  );
  container.hidden = false;
}

export function setUpRefund({ problem }) {
  const form = document.getElementById("receipt-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(form.querySelector("button"), async () => {
      say(problem, "");
      const label = document.getElementById("receipt-label").value.trim().toLowerCase();
      if (!label) return;
      try {
        found = await api("GET", `/v1/fee-receipts/${encodeURIComponent(label)}`);
        renderReceipt(problem);
      } catch (error) {
        document.getElementById("receipt-found").hidden = true;
        say(problem, refusal(error));
      }
    });
  });
}

// --- the day's revenue ----------------------------------------------------------------------

export async function showRevenue({ state }) {
  showView("revenue");
  await fillRegions(document.getElementById("revenue-region"), state.counter && state.counter.region);
  const date = document.getElementById("revenue-date");
  if (!date.value) date.value = tokyoDate();
}

export function setUpRevenue({ problem }) {
  const form = document.getElementById("revenue-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(form.querySelector("button"), async () => {
      say(problem, "");
      const region = document.getElementById("revenue-region").value;
      const date = document.getElementById("revenue-date").value;
      try {
        const text = await api("GET", `/v1/regions/${encodeURIComponent(region)}/fee-revenue.csv?date=${date}`);
        const link = el("a", {
          // The service sends a byte-order mark for spreadsheets; reading the text dropped it.
          href: URL.createObjectURL(new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" })),
          download: `fee-revenue-${region}-${date}.csv`,
        });
        document.body.append(link);
        link.click();
        link.remove();
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
}
