// The resident's and visitor's wallet: open a wallet, register this phone's key, see the
// balance and history, pay a shop by scanning its code. Only the public /v1 API is used.

import { api, ApiError, currentSession, formChange, signIn, signOut } from "/static/api.js";
import { readCode } from "/static/emv.js";
import { base64url, generateKey, intentBytes, loadKey, saveKey, sign } from "/static/keys.js";
import { Scanner } from "/static/qr.js";
import { setUpCampaigns, showCampaigns } from "/app/campaigns.js";
import { setUpConsent, showConsent } from "/app/consent.js";
import { setUpPresent, showPresent, stopPresent } from "/app/present.js";
import { setUpTopup, showTopup } from "/app/topup.js";
import {
  chime,
  dateTime,
  day,
  el,
  language,
  points,
  refusal,
  requireAmount,
  say,
  setUpHeader,
  showView,
  t,
  translate,
  typedAmount,
  withButtonOff,
} from "/static/ui.js";

const EXPIRY_WARNING_DAYS = 30;
const problem = document.getElementById("problem");
const state = { wallet: null, device: null, pending: null, historyBefore: null };
// What the other views of the wallet share with this one.
const context = { state, problem, refresh: () => route() };

const cacheKey = () => "aizu.wallet-cache." + state.wallet.id;

function remember(part, value) {
  const cached = JSON.parse(localStorage.getItem(cacheKey()) || "{}");
  cached[part] = { value, at: new Date().toISOString() };
  localStorage.setItem(cacheKey(), JSON.stringify(cached));
}

function recalled(part) {
  return (JSON.parse(localStorage.getItem(cacheKey()) || "{}") || {})[part] || null;
}

// --- first use ----------------------------------------------------------------------------

async function showStart() {
  const { regions } = await api("GET", "/v1/regions");
  const select = document.getElementById("region");
  select.replaceChildren(...regions.map((r) => el("option", { value: r.code, text: r.name })));
  showView("start");
}

document.getElementById("start-form").addEventListener("submit", (event) => {
  event.preventDefault();
  say(problem, "");
  return withButtonOff(event.target.querySelector("button"), async () => {
    try {
      const region = document.getElementById("region").value;
      state.wallet = await api("POST", "/v1/wallets", { region });
      await registerDevice();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

async function registerDevice() {
  const key = await generateKey();
  const device = await api("POST", `/v1/wallets/${state.wallet.id}/devices`, {
    public_key: key.publicKey,
    label: navigator.userAgentData?.platform || "browser",
  });
  state.device = { ...key, deviceId: device.id, walletId: state.wallet.id };
  await saveKey("device:" + state.wallet.id, state.device);
  location.hash = "#home";
  await route();
}

document.getElementById("register-device").addEventListener("click", (event) => {
  say(problem, "");
  return withButtonOff(event.currentTarget, async () => {
    try {
      await registerDevice();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});

// --- home -----------------------------------------------------------------------------------

function lotLabel(lot) {
  if (lot.kind === "premium" && lot.restriction) return t("lot.premium." + lot.restriction);
  return t("lot." + lot.kind);
}

function renderBalance(balance, at) {
  document.getElementById("available").textContent = points(balance.available);
  document.getElementById("balance-time").textContent = t("wallet.home.updated", {
    time: dateTime(at),
  });
  const pending = document.getElementById("pending");
  pending.hidden = balance.pending === 0;
  pending.textContent = t("wallet.home.pending", { amount: points(balance.pending) });
  // One warning a day on which points expire, however many lots end that day.
  const soon = Date.now() + EXPIRY_WARNING_DAYS * 86400 * 1000;
  const expiring = new Map();
  for (const lot of balance.lots) {
    if (lot.available > 0 && lot.expires_at && Date.parse(lot.expires_at) < soon) {
      const date = day(lot.expires_at);
      expiring.set(date, (expiring.get(date) || 0) + lot.available);
    }
  }
  const warnings = [...expiring].map(([date, amount]) =>
    el("p", { class: "notice warn", text: t("wallet.home.expiring", { amount: points(amount), date }) }),
  );
  document.getElementById("expiring").replaceChildren(...warnings);
  const lots = balance.lots
    .filter((lot) => lot.posted > 0 || lot.available > 0)
    .map((lot) =>
      el(
        "li",
        { class: "row" },
        el(
          "span",
          {},
          lotLabel(lot),
          el("br"),
          el("span", {
            class: "quiet",
            text: lot.expires_at
              ? t("wallet.home.until", { date: day(lot.expires_at) })
              : t("wallet.home.no-expiry"),
          }),
        ),
        el("span", { class: "amount", text: points(lot.available) }),
      ),
    );
  document.getElementById("lots").replaceChildren(...lots);
  document.getElementById("no-points").hidden = balance.posted > 0;
}

async function showHome() {
  showView("home");
  const balance = await api("GET", `/v1/wallets/${state.wallet.id}/balance`);
  remember("balance", balance);
  renderBalance(balance, new Date());
}

// --- history --------------------------------------------------------------------------------

function entryItem(entry) {
  const word = t("entry." + entry.kind);
  const label = word.startsWith("entry.") ? t("entry.other") : word;
  const amount = entry.amount > 0 ? "+" + points(entry.amount) : "−" + points(-entry.amount);
  // The other side by its name (a shop, a counter, a campaign); the service's own wording of
  // the entry only in English, which it is written in.
  const other = entry.other_side || (language() === "en" ? entry.description : null);
  return el(
    "li",
    { class: "row" },
    el(
      "span",
      {},
      el("strong", { text: label }),
      other ? el("br") : null,
      other,
      el("br"),
      el("span", { class: "quiet", text: dateTime(entry.recorded_at) }),
    ),
    el("span", { class: "amount" + (entry.amount > 0 ? " in" : ""), text: amount }),
  );
}

function renderHistory(entries, append, at) {
  const list = document.getElementById("history");
  const items = entries.map(entryItem);
  if (append) list.append(...items);
  else list.replaceChildren(...items);
  document.getElementById("no-history").hidden = list.children.length > 0;
  document.getElementById("history-time").textContent = t("wallet.home.updated", {
    time: dateTime(at),
  });
}

async function showHistory(more = false) {
  showView("history");
  const query = more && state.historyBefore ? `?before=${state.historyBefore}` : "";
  const page = await api("GET", `/v1/wallets/${state.wallet.id}/history${query}`);
  state.historyBefore = page.next_before;
  document.getElementById("history-more").hidden = page.next_before === null;
  if (!more) remember("history", page.entries);
  renderHistory(page.entries, more, new Date());
}

document.getElementById("history-more").addEventListener("click", () =>
  showHistory(true).catch((error) => say(problem, refusal(error))),
);

// --- paying ---------------------------------------------------------------------------------

const video = document.getElementById("camera");
let scanner = null;

function stopCamera() {
  if (scanner) scanner.stop();
  scanner = null;
  document.getElementById("camera-start").hidden = false;
  document.getElementById("camera-stop").hidden = true;
}

function category(mcc) {
  const key = "mcc." + mcc;
  return t(key) === key ? t("mcc.other") : t(key);
}

function showPay() {
  stopCamera();
  state.pending = null;
  document.getElementById("scan-step").hidden = false;
  document.getElementById("confirm-step").hidden = true;
  showView("pay");
}

async function scanned(text) {
  const code = readCode(text);
  if (!code) {
    say(problem, t("wallet.pay.not-ours"));
    return false;
  }
  say(problem, "");
  if (atCounter(code)) {
    showConfirm(code, null);
    return true;
  }
  try {
    // The shop as the service knows it: its own name (the code holds a short one in ASCII).
    const shop = await api("GET", `/v1/merchants/${encodeURIComponent(code.merchantId)}/profile`);
    showConfirm(code, shop);
  } catch (error) {
    stopCamera();
    say(problem, refusal(error));
  }
  return true;
}

// A city hall counter's code: its payee is "counter:<id>", paid as fees with a numbered receipt.
const COUNTER_PAYEE = "counter:";
const atCounter = (code) => code.merchantId.startsWith(COUNTER_PAYEE);

function showConfirm(code, shop) {
  stopCamera();
  state.pending = { code };
  sendPayment.reset();
  document.getElementById("scan-step").hidden = true;
  document.getElementById("confirm-step").hidden = false;
  const counter = code.merchantId.slice(COUNTER_PAYEE.length);
  document.getElementById("shop-name").textContent = shop
    ? shop.display_name
    : t("counter.name", { counter });
  document.getElementById("shop-category").textContent = shop
    ? category(shop.mcc)
    : t("counter.fees");
  document.getElementById("shop-size").textContent = !shop
    ? ""
    : shop.size_class === "local"
      ? t("shop.pay.local")
      : t("shop.pay.chain");
  if (shop && shop.status !== "active") say(problem, t("wallet.pay.shop-closed"), "warn");
  document.getElementById("amount-field").hidden = code.dynamic;
  const expiry = document.getElementById("code-expiry");
  expiry.hidden = !code.expiresAt;
  if (code.expiresAt) expiry.textContent = t("wallet.pay.expires", { time: dateTime(code.expiresAt) });
  const amount = document.getElementById("amount");
  amount.value = "";
  amount.removeAttribute("aria-invalid");
  updateConfirmText();
  (code.dynamic ? document.getElementById("pay-button") : amount).focus();
}

function enteredAmount() {
  const code = state.pending.code;
  if (code.dynamic) return code.amount;
  return typedAmount(document.getElementById("amount"));
}

function updateConfirmText() {
  const amount = enteredAmount();
  document.getElementById("confirm-text").textContent = amount
    ? t("wallet.pay.confirm", { amount: points(amount) })
    : t("wallet.pay.amount-hint");
}

function randomNonce() {
  return base64url(crypto.getRandomValues(new Uint8Array(18)));
}

// The payment's body is signed once (its intent, nonce and time): a try after a lost answer
// sends exactly it again, under the same key, and is answered once.
const sendPayment = formChange(
  document.getElementById("confirm-step"),
  async () => {
    const code = state.pending.code;
    const amount = code.dynamic ? code.amount : requireAmount(document.getElementById("amount"), problem);
    if (amount === null) return null;
    const intent = {
      wallet_id: state.wallet.id,
      device_id: state.device.deviceId,
      payee: code.merchantId,
      amount,
      nonce: randomNonce(),
      issued_at: new Date().toISOString(),
    };
    const signature = base64url(await sign(state.device.privateKey, intentBytes(intent)));
    return { qr_payload: code.payload, intent, signature };
  },
  (body, key) => {
    const path = atCounter(state.pending.code) ? "/v1/fee-payments" : "/v1/payments";
    return api("POST", path, body, { key });
  },
);

async function pay() {
  const button = document.getElementById("pay-button");
  button.textContent = t("wallet.pay.paying");
  try {
    const receipt = await sendPayment();
    if (receipt) showDone(receipt);
  } catch (error) {
    say(problem, paymentRefusal(error));
  } finally {
    button.textContent = t("wallet.pay.pay");
  }
}

function paymentRefusal(error) {
  if (error instanceof ApiError && error.code === "insufficient_funds" && error.body?.local_only) {
    return t("refusal.insufficient_funds.local");
  }
  return refusal(error);
}

// A shop's receipt or a city counter's numbered one, as the completion screen shows them.
function receiptShown(receipt) {
  if (receipt.receipt_number) {
    const name = language() === "ja" ? "name_ja" : "name_en";
    return {
      amount: receipt.invoice.total,
      to: t("counter.name", { counter: receipt.counter_id }),
      at: receipt.issued_at,
      number: receipt.receipt_number,
      earned: 0,
      lines: receipt.invoice.lines.map((line) =>
        t("counter.line", { name: line[name], quantity: line.quantity, amount: points(line.amount) }),
      ),
    };
  }
  return {
    amount: receipt.payment.amount,
    to: receipt.merchant_name,
    at: receipt.recorded_at,
    number: receipt.payment.id,
    earned: receipt.spend_back.reduce((sum, reward) => sum + reward.points, 0),
    lines: [],
  };
}

function showDone(receipt) {
  remember("balance", receipt.balance);
  const shown = receiptShown(receipt);
  document.getElementById("done-amount").textContent = points(shown.amount);
  document.getElementById("done-shop").textContent = t("wallet.done.to", { shop: shown.to });
  document.getElementById("done-time").textContent = dateTime(shown.at);
  document.getElementById("done-left").textContent = t("wallet.done.left", {
    amount: points(receipt.balance.available),
  });
  document
    .getElementById("done-lines")
    .replaceChildren(...shown.lines.map((line) => el("li", { text: line })));
  const earnedText = document.getElementById("done-earned");
  earnedText.hidden = shown.earned === 0;
  earnedText.textContent = t("wallet.done.earned", { amount: points(shown.earned) });
  document.getElementById("done-number").textContent = t("wallet.done.number", {
    number: shown.number,
  });
  state.pending = null;
  location.hash = "#done";
  showView("done");
  chime();
}

document.getElementById("camera-start").addEventListener("click", async () => {
  say(problem, "");
  scanner = new Scanner(video, scanned);
  try {
    await scanner.start();
    document.getElementById("camera-start").hidden = true;
    document.getElementById("camera-stop").hidden = false;
  } catch {
    scanner = null;
    say(problem, t("wallet.pay.camera-refused"));
  }
});
document.getElementById("camera-stop").addEventListener("click", stopCamera);
document.getElementById("amount").addEventListener("input", updateConfirmText);
document.getElementById("confirm-step").addEventListener("submit", (event) => {
  event.preventDefault();
  say(problem, "");
  pay();
});
document.getElementById("pay-cancel").addEventListener("click", () => {
  say(problem, "");
  showPay();
});

// --- offline --------------------------------------------------------------------------------

function showOffline() {
  const balance = recalled("balance");
  const history = recalled("history");
  const notice = document.getElementById("offline");
  notice.hidden = false;
  notice.textContent = t("wallet.offline", {
    time: balance ? dateTime(balance.at) : "—",
  });
  if (balance) renderBalance(balance.value, balance.at);
  if (history) renderHistory(history.value, false, history.at);
  showView(location.hash === "#history" ? "history" : "home");
}

// --- routing --------------------------------------------------------------------------------

async function route() {
  if (!state.wallet || !state.device) return;
  document.getElementById("tabs").hidden = false;
  document.getElementById("offline").hidden = true;
  const view = location.hash.slice(1) || "home";
  if (view !== "pay") stopCamera();
  if (view !== "present") stopPresent();
  say(problem, "");
  try {
    if (view === "pay") showPay();
    else if (view === "present") showPresent();
    else if (view === "topup") showTopup(context);
    else if (view === "campaigns") await showCampaigns(context);
    else if (view === "consent") await showConsent(context);
    else if (view === "history") await showHistory();
    else if (view === "done" && document.getElementById("done-number").textContent) showView("done");
    else await showHome();
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) showOffline();
    else say(problem, refusal(error));
  }
}

async function start() {
  setUpHeader({
    onChange: () => route(),
    onSignOut: async () => {
      location.assign((await signOut()) || "/signin/?next=/app/");
    },
  });
  translate();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  }
  const lastWallet = localStorage.getItem("aizu.wallet");
  const offline = () => {
    state.wallet = { id: lastWallet };
    document.getElementById("tabs").hidden = false;
    showOffline();
  };
  if (!navigator.onLine && lastWallet) {
    offline();
    return;
  }
  let session;
  try {
    session = await currentSession();
  } catch (error) {
    if (error instanceof ApiError && error.status === 0 && lastWallet) {
      offline();
      return;
    }
    throw error;
  }
  if (!session) {
    signIn();
    return;
  }
  if (!session.roles.includes("resident") && !session.roles.includes("visitor")) {
    // Signed in as a shop's staff, say: the wallet is not theirs to use.
    say(problem, t("wallet.not-holder"), "warn");
    showView("none");
    return;
  }
  const { wallets } = await api("GET", "/v1/wallets");
  const open = wallets.filter((wallet) => wallet.status === "open" || wallet.status === "active");
  if (open.length === 0) {
    await showStart();
    return;
  }
  state.wallet = open[0];
  localStorage.setItem("aizu.wallet", state.wallet.id);
  state.device = await loadKey("device:" + state.wallet.id);
  if (!state.device) {
    showView("device");
    return;
  }
  await route();
}

setUpPresent(context);
setUpTopup(context);
setUpConsent(context);
setUpCampaigns(context);
window.addEventListener("hashchange", route);
window.addEventListener("online", () => route());
start().catch((error) => say(problem, refusal(error)));
