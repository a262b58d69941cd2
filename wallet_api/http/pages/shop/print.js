// The shop's printed code: its static code (the customer types the amount), signed by the
// platform, on a sheet with the shop's name, for A5 or A6 paper.

import { api } from "/static/api.js";
import { qrImage } from "/static/qr.js";
import { showView, t } from "/static/ui.js";

export async function showPrint(context) {
  showView("print");
  const merchant = context.state.merchant;
  const code = await api("GET", `/v1/merchants/${merchant.id}/qr`);
  document.getElementById("print-name").textContent = merchant.display_name;
  document
    .getElementById("print-code")
    .replaceChildren(qrImage(code.payload, t("shop.print.alt", { shop: merchant.display_name })));
}

export function setUpPrint() {
  for (const radio of document.querySelectorAll("input[name=paper]")) {
    radio.addEventListener("change", () => {
      document.getElementById("print-sheet").className = "print-sheet " + radio.value;
    });
  }
  document.getElementById("print-button").addEventListener("click", () => window.print());
}
