// The one-time code a resident shows to a shop that scans: a payment intent for "any shop",
// up to the amount the resident sets, signed on this phone and good for two minutes, once.
// The code holds the JSON body of POST /v1/merchants/{id}/charges/token, less the amount.

import { base64url, intentBytes, sign } from "/static/keys.js";
import { qrImage } from "/static/qr.js";
import { points, requireAmount, say, showView, t } from "/static/ui.js";

const LIFETIME_SECONDS = 120;
const ANY_SHOP = "any-shop";
let timer = null;

export function showPresent() {
  clearTimeout(timer);
  document.getElementById("present-form").hidden = false;
  document.getElementById("present-code").hidden = true;
  showView("present");
}

async function showCode(context, limit) {
  const token = {
    wallet_id: context.state.wallet.id,
    device_id: context.state.device.deviceId,
    payee: ANY_SHOP,
    amount: limit,
    nonce: base64url(crypto.getRandomValues(new Uint8Array(18))),
    issued_at: new Date().toISOString(),
  };
  const signature = base64url(await sign(context.state.device.privateKey, intentBytes(token)));
  const text = JSON.stringify({ token, signature });
  document
    .getElementById("present-image")
    .replaceChildren(qrImage(text, t("wallet.present.alt", { amount: points(limit) })));
  document.getElementById("present-form").hidden = true;
  document.getElementById("present-code").hidden = false;
  const until = Date.now() + LIFETIME_SECONDS * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    const countdown = document.getElementById("present-countdown");
    if (left <= 0) {
      document.getElementById("present-image").replaceChildren();
      countdown.textContent = t("wallet.present.expired");
      return;
    }
    countdown.textContent = t("wallet.present.expires", { seconds: left, amount: points(limit) });
    timer = setTimeout(tick, 1000);
  };
  tick();
}

export function setUpPresent(context) {
  document.getElementById("present-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    const limit = requireAmount(document.getElementById("present-limit"), context.problem);
    if (limit !== null) await showCode(context, limit);
  });
  document.getElementById("present-again").addEventListener("click", showPresent);
}

export function stopPresent() {
  clearTimeout(timer);
}
