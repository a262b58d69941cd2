// What the resident lets the city do with their data: each purpose in plain words, granted or
// withdrawn at any time, and the age band and district they give (or take back).

import { api, signOut } from "/static/api.js";
import { forgetKey } from "/static/keys.js";
import { dateTime, el, refusal, say, showView, t } from "/static/ui.js";

const AGE_BANDS = ["0-19", "20-29", "30-39", "40-49", "50-59", "60-64", "65-74", "75+"];

function purposeCard(context, terms, current) {
  const granted = Boolean(current && current.granted);
  const status = el("p", {
    class: granted ? "notice ok" : "notice",
    text: granted
      ? t("wallet.consent.granted", { time: dateTime(current.decided_at) })
      : t("wallet.consent.not-granted"),
  });
  const button = el("button", {
    type: "button",
    class: granted ? "secondary" : "",
    text: granted ? t("wallet.consent.revoke") : t("wallet.consent.grant"),
    onclick: async () => {
      say(context.problem, "");
      try {
        await api("POST", `/v1/wallets/${context.state.wallet.id}/consents`, {
          purpose: terms.purpose,
          granted: !granted,
          text_version: terms.text_version,
        });
        await showConsent(context);
      } catch (error) {
        say(context.problem, refusal(error));
      }
    },
  });
  return el(
    "div",
    { class: "card", "data-purpose": terms.purpose },
    el("h3", { text: t(`consent.${terms.purpose}.title`) }),
    el("p", { text: t(`consent.${terms.purpose}.text`) }),
    el("details", {}, el("summary", { text: t("wallet.consent.full-text") }), el("p", { lang: "en", text: terms.text }), el("p", { class: "quiet", text: t("wallet.consent.version", { version: terms.text_version }) })),
    status,
    el("div", { class: "actions" }, button),
  );
}

export async function showConsent(context) {
  showView("consent");
  const walletId = context.state.wallet.id;
  const [{ purposes }, overview, demographics] = await Promise.all([
    api("GET", "/v1/consent-purposes"),
    api("GET", `/v1/wallets/${walletId}/consents`),
    api("GET", `/v1/wallets/${walletId}/demographics`),
  ]);
  const current = Object.fromEntries(overview.current.map((c) => [c.purpose, c]));
  document
    .getElementById("consent-list")
    .replaceChildren(...purposes.map((terms) => purposeCard(context, terms, current[terms.purpose])));
  const select = document.getElementById("age-band");
  select.replaceChildren(
    el("option", { value: "", text: t("wallet.consent.not-given") }),
    ...AGE_BANDS.map((band) => el("option", { value: band, text: t("wallet.consent.band", { band }) })),
  );
  select.value = demographics.age_band || "";
  document.getElementById("district").value = demographics.district || "";
}

// A phone given away or shared: its key is withdrawn (the service refuses its intents from
// now on), deleted from this browser, and the session ends.
async function forgetThisPhone(context) {
  const { wallet, device } = context.state;
  await api("POST", `/v1/wallets/${wallet.id}/devices/${device.deviceId}/revoke`);
  await forgetKey("device:" + wallet.id);
  location.assign((await signOut()) || "/signin/?next=/app/");
}

export function setUpConsent(context) {
  const ask = document.getElementById("forget-device");
  ask.addEventListener("click", () => {
    const panel = document.getElementById("forget-confirm");
    panel.hidden = !panel.hidden;
    ask.setAttribute("aria-expanded", String(!panel.hidden));
  });
  document.getElementById("forget-device-confirm").addEventListener("click", async (event) => {
    event.currentTarget.disabled = true;
    try {
      await forgetThisPhone(context);
    } catch (error) {
      event.currentTarget.disabled = false;
      say(context.problem, refusal(error));
    }
  });
  const walletPath = () => `/v1/wallets/${context.state.wallet.id}/demographics`;
  document.getElementById("demographics-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    say(context.problem, "");
    const age = document.getElementById("age-band").value || null;
    const district = document.getElementById("district").value.trim() || null;
    try {
      await api("PUT", walletPath(), { age_band: age, district });
      say(context.problem, t("wallet.consent.saved"), "ok");
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
  document.getElementById("demographics-withdraw").addEventListener("click", async () => {
    say(context.problem, "");
    try {
      await api("DELETE", walletPath());
      await showConsent(context);
      say(context.problem, t("wallet.consent.withdrawn"), "ok");
    } catch (error) {
      say(context.problem, refusal(error));
    }
  });
}
