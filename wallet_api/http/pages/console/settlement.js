// The console's money out and in: the region's payout account and days, transfer files made,
// listed and downloaded for the bank, the bank's result imported per transfer; bank statements
// imported and what they leave unmatched.

import { api, ApiError, oneChange } from "/static/api.js";
import {
  businessDay,
  csvRows,
  dateTime,
  el,
  pagedList,
  refusal,
  say,
  showView,
  t,
  tokyoDate,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { consoleField, readFields } from "/console/shops.js";

const PAGE_SIZE = 50;
const money = (amount) => t("yen", { amount: yen(amount) });

const PROFILE_FIELDS = [
  ["client_code", /^[0-9]{10}$/, "digits"],
  ["client_name", /^.{1,40}$/u, "kana"],
  ["bank_code", /^[0-9]{4}$/, "digits"],
  ["bank_name", /^.{1,15}$/u, "kana"],
  ["branch_code", /^[0-9]{3}$/, "digits"],
  ["branch_name", /^.{1,15}$/u, "kana"],
  ["account_type", null, "account"],
  ["account_number", /^[0-9]{7}$/, "digits"],
  ["payout_days", /^\s*([0-9]{1,2})(\s*[,、]\s*[0-9]{1,2})*\s*$/],
];

// --- the payout account ---------------------------------------------------------------------

async function drawProfile({ state }) {
  document.getElementById("profile-fields").replaceChildren(...PROFILE_FIELDS.map((field) => consoleField("profile", field)));
  let profile = null;
  try {
    profile = await api("GET", `/v1/regions/${encodeURIComponent(state.region)}/settlement`);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "unknown_settlement")) throw error;
  }
  document.getElementById("profile-missing").hidden = profile !== null;
  // Without an account the region cannot pay out: the form is open to be filled.
  document.getElementById("profile-box").open = profile === null;
  for (const [name] of PROFILE_FIELDS) {
    const input = document.getElementById("profile-" + name);
    if (profile) input.value = name === "payout_days" ? profile.payout_days.join(", ") : profile[name];
    if (!state.operator) input.disabled = true;
  }
}

// --- transfer files -------------------------------------------------------------------------

let batchList = null;

function batchRow(batch) {
  return el(
    "tr",
    {},
    el("td", {}, el("a", { href: "#batch/" + batch.id, text: batch.id })),
    el("td", { text: businessDay(batch.transfer_date) }),
    el("td", { class: "number", text: yen(batch.payout_count) }),
    el("td", { class: "number", text: money(batch.total) }),
    el("td", { text: t("console.batch.states", { paid: batch.paid, failed: batch.failed, pending: batch.pending }) }),
  );
}

export async function showSettlement(context) {
  showView("settlement");
  const date = document.getElementById("transfer-date");
  if (!date.value) date.value = tokyoDate();
  await drawProfile(context);
  await batchList.reload();
}

let batchShown = null; // BatchOut

function drawBatch(batch, names) {
  batchShown = batch;
  document.getElementById("batch-heading").textContent = t("console.batch.heading", { id: batch.id });
  document.getElementById("batch-line").textContent = t("console.batch.line", {
    date: businessDay(batch.transfer_date),
    count: yen(batch.payout_count),
    total: money(batch.total),
    kind: t(batch.scheduled ? "console.batch.scheduled" : "console.batch.requested"),
  });
  document.getElementById("payout-rows").replaceChildren(
    ...batch.payouts.map((payout) =>
      el(
        "tr",
        { "data-customer-code": payout.customer_code, class: payout.status === "failed" ? "mismatch" : null },
        el("td", { text: names.get(payout.merchant_id) || payout.merchant_id }),
        el("td", { class: "number", text: money(payout.amount) }),
        el("td", {}, el("code", { text: payout.customer_code })),
        el("td", {}, el("span", { class: payout.status === "paid" ? "tag ok" : "tag", text: t("console.payout." + payout.status) })),
        el("td", { text: payout.result_code || "" }),
      ),
    ),
  );
}

async function shopNames(batch) {
  const names = new Map();
  await Promise.all(
    [...new Set(batch.payouts.map((p) => p.merchant_id))].map(async (id) => {
      const shop = await api("GET", `/v1/merchants/${encodeURIComponent(id)}/profile`);
      names.set(id, shop.display_name);
    }),
  );
  return names;
}

export async function showBatch(context, id) {
  showView("batch");
  const batch = await api("GET", `/v1/payout-batches/${encodeURIComponent(id)}`);
  drawBatch(batch, await shopNames(batch));
}

// The bank's result as the bank sends it: customer code, result code (0 paid), per line.
function resultsOf(text) {
  return csvRows(text)
    .filter(([code]) => /^[0-9]+$/.test(code)) // not a heading
    .map(([code, result]) => ({ code, result: result || "" }));
}

// --- bank statements ------------------------------------------------------------------------

function table(captionKey, columns, rows) {
  const heading = el("h3", { text: t(captionKey) });
  if (rows.length === 0) return [heading, el("p", { text: t("console.none") })];
  return [
    heading,
    el(
      "table",
      { class: "lines" },
      el("caption", { class: "visually-hidden", text: t(captionKey) }),
      el("thead", {}, el("tr", {}, columns.map(([key, number]) => el("th", { scope: "col", class: number ? "number" : null, text: t(key) })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map(([text, number]) => el("td", { class: number ? "number" : null, text }))))),
    ),
  ];
}

function drawReconciliation(report) {
  document.getElementById("reconciliation").replaceChildren(
    ...table(
      "console.bank.unmatched",
      [["console.bank.line", true], ["console.bank.date"], ["console.bank.amount", true], ["console.bank.reference"], ["console.bank.note"]],
      report.unmatched_lines.map((line) => [
        [String(line.line_no), true],
        [businessDay(line.date)],
        [money(line.amount), true],
        [line.reference],
        [line.note || ""],
      ]),
    ),
    ...table(
      "console.bank.topups",
      [["console.bank.reference"], ["console.bank.amount", true], ["console.bank.wallet"], ["console.bank.requested"]],
      report.topups_not_seen.map((topup) => [[topup.reference || ""], [money(topup.amount), true], [topup.wallet_id], [dateTime(topup.requested_at)]]),
    ),
    ...table(
      "console.bank.batches",
      [["console.batch.id"], ["console.batch.date"], ["console.batch.total", true]],
      report.batches_not_seen.map((batch) => [[batch.id], [businessDay(batch.transfer_date)], [money(batch.total), true]]),
    ),
  );
}

export async function showBank({ state }) {
  showView("bank");
  drawReconciliation(await api("GET", `/v1/regions/${encodeURIComponent(state.region)}/bank-reconciliation`));
}

// A file the person chose in `input`, as text, or null after saying so.
async function chosenFile(input, problem) {
  const file = input.files[0];
  if (!file) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
    say(problem, t("refusal.invalid_request"));
    return null;
  }
  input.removeAttribute("aria-invalid");
  return file.text();
}

export function setUpSettlement(context) {
  const { state, problem } = context;
  batchList = pagedList({
    more: document.getElementById("batches-more"),
    fetchPage: async (after) => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (after) query.set("after", after);
      const page = await api("GET", `/v1/regions/${encodeURIComponent(state.region)}/payout-batches?` + query);
      return { items: page.batches, next_after: page.next_after };
    },
    draw: (batches) => {
      document.getElementById("batches").hidden = batches.length === 0;
      document.getElementById("batches-empty").hidden = batches.length > 0;
      document.getElementById("batch-rows").replaceChildren(...batches.map(batchRow));
    },
    onError: (error) => say(problem, refusal(error)),
  });

  document.getElementById("profile-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      const { values, wrong } = readFields("profile", PROFILE_FIELDS);
      if (wrong) {
        wrong.focus();
        say(problem, t("refusal.invalid_request"));
        return;
      }
      const days = values.payout_days.normalize("NFKC").split(/[,、]/).map((part) => Number(part.trim()));
      try {
        await api("PUT", `/v1/regions/${encodeURIComponent(state.region)}/settlement`, { ...values, payout_days: days });
        await drawProfile(context);
        say(problem, t("console.settlement.saved", { region: context.region().name }), "ok");
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });

  const makeBatch = oneChange(
    () => {
      const date = document.getElementById("transfer-date");
      if (!date.value) {
        date.setAttribute("aria-invalid", "true");
        date.focus();
        return null;
      }
      date.removeAttribute("aria-invalid");
      return { region: state.region, transfer_date: date.value };
    },
    ({ region, transfer_date }, key) =>
      api("POST", `/v1/regions/${encodeURIComponent(region)}/payout-batches`, { transfer_date }, { key }),
  );
  document.getElementById("batch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      try {
        const batch = await makeBatch();
        if (!batch) {
          say(problem, t("refusal.invalid_request"));
          return;
        }
        await batchList.reload();
        say(problem, t("console.settlement.ran", { id: batch.id, count: yen(batch.payout_count), total: money(batch.total) }), "ok");
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });

  document.getElementById("batch-download").addEventListener("click", (event) =>
    withButtonOff(event.target, async () => {
      say(problem, "");
      // The file's bytes as the bank takes them (CP932): fetched as they are, never as text.
      const response = await fetch(`/v1/payout-batches/${encodeURIComponent(batchShown.id)}/zengin`, {
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) {
        say(problem, refusal(new ApiError(response.status, (await response.json()).code)));
        return;
      }
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `${batchShown.id}.txt` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    }),
  );

  document.getElementById("results-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      const input = document.getElementById("results-file");
      const text = await chosenFile(input, problem);
      if (text === null) return;
      const rows = resultsOf(text);
      if (rows.length === 0) {
        say(problem, t("console.batch.results-empty"));
        return;
      }
      const payoutOf = new Map(batchShown.payouts.map((payout) => [payout.customer_code, payout.id]));
      const unknown = rows.filter((row) => !payoutOf.has(row.code)).map((row) => row.code);
      if (unknown.length > 0) {
        say(problem, t("console.batch.results-unknown", { codes: unknown.join(", ") }));
        return;
      }
      const results = rows.map((row) =>
        row.result === "0"
          ? { payout_id: payoutOf.get(row.code), paid: true }
          : { payout_id: payoutOf.get(row.code), paid: false, result_code: row.result.slice(0, 20) || null },
      );
      try {
        const batch = await api("POST", `/v1/payout-batches/${encodeURIComponent(batchShown.id)}/results`, { results });
        drawBatch(batch, await shopNames(batch));
        input.value = "";
        say(problem, t("console.batch.results-done", { count: yen(results.length) }), "ok");
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });

  document.getElementById("statement-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      const input = document.getElementById("statement-file");
      const csv = await chosenFile(input, problem);
      if (csv === null) return;
      try {
        const done = await api("POST", `/v1/regions/${encodeURIComponent(state.region)}/bank-statements`, { csv });
        drawReconciliation(done.report);
        input.value = "";
        say(problem, t("console.bank.done", { lines: yen(done.lines), matched: yen(done.matched.length) }), "ok");
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
}
