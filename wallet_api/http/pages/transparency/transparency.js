// The public transparency page, for anyone and without signing in: the circulation's headline
// figures, the daily seals (each signature checked here), the platform's public keys, and a
// receipt checked in this browser against the published seal (WebCrypto SHA-256 and Ed25519).

import { api } from "/static/api.js";
import {
  addMessages,
  businessDay,
  dateTime,
  el,
  points,
  refusal,
  say,
  setUpHeader,
  t,
  translate,
  withButtonOff,
  yen,
} from "/static/ui.js";
import { MESSAGES } from "/transparency/messages.js";
import { checkReceipt, keyOf, sealMessage, signatureHolds } from "/transparency/verify.js";

addMessages(MESSAGES);

const problem = document.getElementById("problem");
const state = { regions: [], keys: [], revoked: [], region: null, last: null };
// Reads of the public API: no session, so no sign-in page on a refusal.
const read = (path) => api("GET", path, undefined, { signInOn401: false });

async function showHeadline(currency) {
  const headline = await read(`/v1/statistics/${encodeURIComponent(currency)}/headline`);
  const figures = document.getElementById("headline");
  if (!headline.business_date) {
    document.getElementById("headline-date").textContent = t("open.headline.none");
    figures.replaceChildren();
    return;
  }
  document.getElementById("headline-date").textContent = t("open.headline.date", {
    date: businessDay(headline.business_date),
    days: headline.days,
  });
  figures.replaceChildren(
    ...["outstanding", "issued", "spending", "city_fees", "redemption"].map((name) =>
      el("div", { "data-figure": name }, el("dt", { text: t("open.headline." + name) }), el("dd", { text: points(headline[name]) })),
    ),
  );
}

async function showSeals(currency) {
  const seals = [...(await read(`/v1/seals/${encodeURIComponent(currency)}`))].reverse();
  document.getElementById("seals").hidden = seals.length === 0;
  document.getElementById("seals-empty").hidden = seals.length > 0;
  const rows = await Promise.all(
    seals.map(async (seal) => {
      const key = keyOf(state.keys, seal);
      const holds = key !== null && (await signatureHolds(key, sealMessage(seal), seal.signature));
      return el(
        "tr",
        { "data-date": seal.business_date },
        el("td", { text: businessDay(seal.business_date) }),
        el("td", { class: "number", text: yen(seal.entry_count) }),
        el("td", {}, el("code", { class: "hash", text: seal.root })),
        el(
          "td",
          {},
          el("span", { class: holds ? "tag ok" : "tag", text: t(holds ? "open.seals.checked" : "open.seals.wrong") }),
          el("details", {}, el("summary", { text: seal.key_id }), el("code", { class: "hash", text: seal.signature })),
        ),
      );
    }),
  );
  document.getElementById("seal-rows").replaceChildren(...rows);
}

function showKeys() {
  document.getElementById("keys").replaceChildren(
    ...[...state.keys, ...state.revoked].flatMap((key) => [
      el("dt", {}, el("code", { text: key.kid })),
      el(
        "dd",
        { "data-status": key.status },
        el("code", { class: "hash", text: key.hex }),
        el("br"),
        t("open.keys.signs." + key.purpose),
        el("br"),
        t("open.keys.status." + key.status, { reason: key.revoked_reason || "" }),
      ),
    ]),
  );
}

async function showRegion() {
  const region = state.regions.find((r) => r.code === document.getElementById("region").value);
  state.region = region;
  await Promise.all([showHeadline(region.currency), showSeals(region.currency)]);
}

// --- a receipt ------------------------------------------------------------------------------

function showVerdict(receipt, checks) {
  const ok = checks.every((check) => check.ok);
  const box = document.getElementById("verdict");
  box.hidden = false;
  const line = document.getElementById("verdict-line");
  line.className = ok ? "notice ok" : "notice error";
  line.textContent = ok ? t("open.verify.ok", { date: businessDay(receipt.seal.business_date) }) : t("open.verify.bad");
  document.getElementById("checks").replaceChildren(
    ...checks.map((check) => el("li", { class: check.ok ? "ok" : "failed", "data-check": check.check, text: t("open.check." + check.check) })),
  );
  let entry = null;
  try {
    entry = JSON.parse(receipt.leaf);
  } catch {
    entry = null;
  }
  document.getElementById("entry").replaceChildren(
    ...(entry && Array.isArray(entry.postings)
      ? [
          ["open.entry.id", String(entry.id)],
          ["open.entry.kind", entry.kind],
          ["open.entry.recorded", dateTime(entry.recorded_at)],
          ["open.entry.amount", points(entry.postings.reduce((sum, [, amount]) => sum + Math.max(0, amount), 0))],
        ].flatMap(([key, value]) => [el("dt", { text: t(key) }), el("dd", { text: value })])
      : []),
  );
}

document.getElementById("receipt-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) document.getElementById("receipt-text").value = await file.text();
});

document.getElementById("verify-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.submitter, async () => {
    say(problem, "");
    const text = document.getElementById("receipt-text");
    let receipt;
    try {
      receipt = JSON.parse(text.value);
      if (!receipt || typeof receipt !== "object" || !receipt.seal || typeof receipt.seal !== "object") throw new Error("no seal");
      text.removeAttribute("aria-invalid");
    } catch {
      text.setAttribute("aria-invalid", "true");
      document.getElementById("verdict").hidden = true;
      say(problem, t("open.verify.unreadable"));
      return;
    }
    const seal = receipt.seal;
    let published = null;
    try {
      published = await read(`/v1/seals/${encodeURIComponent(seal.currency)}/${encodeURIComponent(seal.business_date)}`);
    } catch {
      published = null; // no such seal: the check below says so
    }
    showVerdict(receipt, await checkReceipt(receipt, state.keys, published));
  });
});

async function start() {
  setUpHeader({
    onChange: () => {
      showKeys();
      if (state.region) showRegion().catch((error) => say(problem, refusal(error)));
    },
  });
  translate();
  const [{ regions }, { keys, revoked }] = await Promise.all([read("/v1/regions"), read("/v1/keys")]);
  state.regions = regions;
  // The platform's keys sign seals; the local token issuer's are listed in the same set.
  state.keys = keys.filter((key) => key.purpose === "platform");
  state.revoked = revoked.filter((key) => key.purpose === "platform");
  document.getElementById("region").replaceChildren(...regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.code})` })));
  showKeys();
  if (regions.length) await showRegion();
}

document.getElementById("region").addEventListener("change", () => showRegion().catch((error) => say(problem, refusal(error))));
start().catch((error) => say(problem, refusal(error)));
