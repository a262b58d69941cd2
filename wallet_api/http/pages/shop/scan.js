// The till reads what the customer shows: a wallet's one-time code (the shop types the amount,
// up to the customer's limit) or a printed card (the customer types the PIN).

import { api, formChange } from "/static/api.js";
import { Scanner } from "/static/qr.js";
import { chime, points, refusal, requireAmount, say, showView, t, time, yen } from "/static/ui.js";

const CARD_PREFIX = "AIZUCARD1:";
let scanner = null;
let shown = null;
let charge = null;

function read(text) {
  if (text.startsWith(CARD_PREFIX)) return { card: text };
  try {
    const body = JSON.parse(text);
    if (body && body.token && typeof body.signature === "string") return { token: body };
  } catch {
    // Not JSON: not a wallet's code either.
  }
  return null;
}

export function stopScan() {
  if (scanner) scanner.stop();
  scanner = null;
  document.getElementById("till-camera-start").hidden = false;
  document.getElementById("till-camera-stop").hidden = true;
}

export function showScan() {
  stopScan();
  shown = null;
  document.getElementById("scan-camera-step").hidden = false;
  document.getElementById("charge-form").hidden = true;
  document.getElementById("charged").hidden = true;
  showView("scan");
}

function showCharge(what) {
  stopScan();
  shown = what;
  charge.reset();
  document.getElementById("scan-camera-step").hidden = true;
  document.getElementById("charge-form").hidden = false;
  document.getElementById("pin-field").hidden = !what.card;
  document.getElementById("charge-what").textContent = what.card
    ? t("shop.scan.card")
    : t("shop.scan.token", { amount: points(what.token.token.amount) });
  document.getElementById("charge-amount").value = "";
  document.getElementById("pin").value = "";
  document.getElementById("charge-amount").focus();
}

export function setUpScan(context) {
  const money = (amount) => t("yen", { amount: yen(amount) });
  document.getElementById("till-camera-start").addEventListener("click", async () => {
    say(context.problem, "");
    scanner = new Scanner(document.getElementById("till-camera"), async (text) => {
      const what = read(text);
      if (!what) {
        say(context.problem, t("shop.scan.unknown"));
        return false;
      }
      say(context.problem, "");
      showCharge(what);
      return true;
    });
    try {
      await scanner.start();
      document.getElementById("till-camera-start").hidden = true;
      document.getElementById("till-camera-stop").hidden = false;
    } catch {
      scanner = null;
      say(context.problem, t("wallet.pay.camera-refused"));
    }
  });
  document.getElementById("till-camera-stop").addEventListener("click", stopScan);
  document.getElementById("charge-cancel").addEventListener("click", showScan);
  document.getElementById("charged-next").addEventListener("click", showScan);
  const form = document.getElementById("charge-form");
  charge = formChange(
    form,
    () => {
      const amount = requireAmount(document.getElementById("charge-amount"), context.problem);
      if (amount === null) return null;
      const merchant = context.state.merchant.id;
      return shown.card
        ? {
            path: `/v1/merchants/${merchant}/charges/card`,
            body: { qr_payload: shown.card, pin: document.getElementById("pin").value, amount },
          }
        : { path: `/v1/merchants/${merchant}/charges/token`, body: { ...shown.token, amount } };
    },
    (charged, key) => api("POST", charged.path, charged.body, { key }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    try {
      const receipt = await charge();
      if (!receipt) return;
      context.paymentArrived(receipt.payment);
      document.getElementById("charge-form").hidden = true;
      document.getElementById("charged").hidden = false;
      document.getElementById("charged-amount").textContent = money(receipt.payment.amount);
      document.getElementById("charged-time").textContent = time(receipt.payment.created_at);
      document.getElementById("charged-next").focus();
      chime();
    } catch (error) {
      document.getElementById("pin").value = "";
      say(context.problem, refusal(error));
    }
  });
}
