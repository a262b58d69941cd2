// Topping up: by bank transfer (the service gives a reference to write on the transfer; the
// points arrive when the bank's statement shows it), or at a city counter, where the cashier
// scans the wallet's code.

import { api, formChange } from "/static/api.js";
import { qrImage } from "/static/qr.js";
import { refusal, requireAmount, say, showView, t, yen } from "/static/ui.js";

export function showTopup(context) {
  const wallet = context.state.wallet;
  document
    .getElementById("wallet-code")
    .replaceChildren(qrImage(wallet.id, t("wallet.topup.counter-alt")));
  document.getElementById("wallet-id").textContent = t("wallet.topup.wallet-id", { id: wallet.id });
  showView("topup");
}

export function setUpTopup(context) {
  const form = document.getElementById("bank-form");
  const request = formChange(
    form,
    () => {
      const amount = requireAmount(document.getElementById("bank-amount"), context.problem);
      return amount === null ? null : { amount };
    },
    (body, key) =>
      api("POST", `/v1/wallets/${context.state.wallet.id}/bank-topups`, body, { key }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    try {
      const topup = await request();
      if (!topup) return;
      document.getElementById("bank-reference").hidden = false;
      document.getElementById("reference").textContent = topup.reference;
      document.getElementById("reference-amount").textContent = t("wallet.topup.reference-amount", {
        amount: t("yen", { amount: yen(topup.amount) }),
      });
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
}
