// Paying another shop of the region in points (a restaurant its local wholesaler): the points
// keep circulating in the region instead of being paid out in yen.

import { api } from "/static/api.js";
import { refusal, requireAmount, say, showView, t, yen } from "/static/ui.js";

export function showB2b() {
  showView("b2b");
}

export function setUpB2b(context) {
  document.getElementById("b2b-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    const to = document.getElementById("b2b-to").value.trim();
    const amount = requireAmount(document.getElementById("b2b-amount"), context.problem);
    if (amount === null) return;
    try {
      await api("POST", `/v1/merchants/${context.state.merchant.id}/b2b-payments`, {
        to_merchant: to,
        amount,
        description: document.getElementById("b2b-note").value.trim(),
      });
      say(context.problem, t("shop.b2b.done", { amount: t("yen", { amount: yen(amount) }), to }), "ok");
      event.target.reset();
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
}
