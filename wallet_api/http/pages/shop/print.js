// A shop's printed code: its static code (the customer types the amount), signed by the
// platform, on a sheet with the shop's name, for A5 or A6 paper. The till prints its own; the
// operators' console prints a new shop's.

import { api } from "/static/api.js";
import { qrImage } from "/static/qr.js";
import { showView, t } from "/static/ui.js";

// Fill the sheet (#print-name, #print-code) with the shop's code.
export async function drawCode(merchant) {
  const code = await api("GET", `/v1/merchants/${encodeURIComponent(merchant.id)}/qr`);
  document.getElementById("print-name").textContent = merchant.display_name;
  document
    .getElementById("print-code")
    .replaceChildren(qrImage(code.payload, t("shop.print.alt", { shop: merchant.display_name })));
}

export async function showPrint(context) {
  showView("print");
  await drawCode(context.state.merchant);
}

export function setUpPrint() {
  for (const radio of document.querySelectorAll("input[name=paper]")) {
    radio.addEventListener("change", () => {
      document.getElementById("print-sheet").className = "print-sheet " + radio.value;
    });
  }
  document.getElementById("print-button").addEventListener("click", () => window.print());
}
