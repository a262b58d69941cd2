// Paying another shop of the region in points (a restaurant its local wholesaler): the points
// keep circulating in the region instead of being paid out in yen.

import { api, formChange } from "/static/api.js";
import { refusal, requireAmount, say, showView, t, yen } from "/static/ui.js";

export function showB2b() {
  showView("b2b");
}

export function setUpB2b(context) {
  const form = document.getElementById("b2b-form");
  const pay = formChange(
    form,
    () => {
      const amount = requireAmount(document.getElementById("b2b-amount"), context.problem);
      if (amount === null) return null;
      const to = document.getElementById("b2b-to").value.trim();
      return { to_merchant: to, amount, description: document.getElementById("b2b-note").value.trim() };
    },
    async (body, key) => {
      await api("POST", `/v1/merchants/${context.state.merchant.id}/b2b-payments`, body, { key });
      return body;
    },
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    try {
      const paid = await pay();
      if (!paid) return;
      const amount = t("yen", { amount: yen(paid.amount) });
      say(context.problem, t("shop.b2b.done", { amount, to: paid.to_merchant }), "ok");
      form.reset();
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
}
