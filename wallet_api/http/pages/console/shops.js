// The console's shops: the region's list, the onboarding form (its katakana names checked and
// turned half-width as the banks need them), and a shop's page: its details, taking payments
// stopped or resumed with a reason, its terminals, and its printed counter code.

import { api, oneChange } from "/static/api.js";
import { dateTime, el, labelled, pagedList, refusal, say, showView, t, withButtonOff } from "/static/ui.js";
import { drawCode, setUpPrint } from "/shop/print.js";
import { notAllowed, toZengin } from "/console/kana.js";

const PAGE_SIZE = 50;

// The onboarding form's fields: [name, pattern the service holds it to, kind].
const SHOP_FIELDS = [
  ["id", /^m-[a-z0-9-]{2,38}$/],
  ["display_name", /^.{1,200}$/u],
  ["legal_name", /^.{1,200}$/u],
  ["kana_name", /^.{1,30}$/u, "kana"],
  ["qr_name", /^[ -~]{1,25}$/],
  ["qr_city", /^[ -~]{1,15}$/],
  ["mcc", /^[0-9]{4}$/, "digits"],
  ["jsic_major", /^[A-T]$/, "letter"],
  ["district", /^.{1,100}$/u],
];
const BANK_FIELDS = [
  ["bank_code", /^[0-9]{4}$/, "digits"],
  ["branch_code", /^[0-9]{3}$/, "digits"],
  ["account_type", null, "account"],
  ["account_number", /^[0-9]{7}$/, "digits"],
  ["holder", /^.{1,30}$/u, "kana"],
];

export function accountTypes(id) {
  return el("select", { id }, ["1", "2", "4", "9"].map((type) => el("option", { value: type, text: t("console.account." + type) })));
}

// One field of a form of the console: its input (or the account type's choice) with its label
// and hint; a katakana field says, as it is left, what it became or what it may not hold.
export function consoleField(prefix, [name, , kind]) {
  const id = `${prefix}-${name}`;
  const control =
    kind === "account"
      ? accountTypes(id)
      : el("input", { id, autocomplete: "off", inputmode: kind === "digits" ? "numeric" : null, "data-kind": kind || null });
  const field = labelled(control, t("console.field." + name), t("console.field." + name + ".hint"));
  if (kind === "kana") {
    const said = el("p", { class: "hint said", id: id + "-said", "aria-live": "polite" });
    control.setAttribute("aria-describedby", `${id}-hint ${id}-said`);
    control.addEventListener("change", () => checkKana(control, said));
    field.append(said);
  }
  return field;
}

// Turn what was typed into a Zengin name; true when it is one.
function checkKana(input, said) {
  const typed = input.value;
  const turned = toZengin(typed);
  const wrong = notAllowed(turned);
  input.value = turned;
  if (wrong.length > 0) {
    input.setAttribute("aria-invalid", "true");
    said.textContent = t("console.kana.wrong", { chars: wrong.join(" ") });
    return false;
  }
  input.removeAttribute("aria-invalid");
  said.textContent = turned !== typed.trim() ? t("console.kana.converted", { text: turned }) : "";
  return true;
}

// The values of `fields` (prefixed ids), or { wrong } for the first that is not right.
export function readFields(prefix, fields) {
  const values = {};
  for (const [name, pattern, kind] of fields) {
    const input = document.getElementById(`${prefix}-${name}`);
    let value = input.value.trim();
    if (kind === "digits" || kind === "letter") value = value.normalize("NFKC").toUpperCase();
    if (kind === "kana" && !checkKana(input, document.getElementById(`${prefix}-${name}-said`))) return { wrong: input };
    if (kind === "kana") value = input.value;
    if (pattern && !pattern.test(value)) {
      input.setAttribute("aria-invalid", "true");
      return { wrong: input };
    }
    input.removeAttribute("aria-invalid");
    values[name] = value;
  }
  return { values };
}

// --- the list -------------------------------------------------------------------------------

let shopList = null;

export async function showShops(context) {
  showView("shops");
  await shopList.reload();
}

// --- onboarding -----------------------------------------------------------------------------

let onboarding = null; // the one change the form's submission is

export function showOnboard({ state }) {
  showView("onboard");
  const form = document.getElementById("onboard-form");
  form.reset();
  document.getElementById("onboard-fields").replaceChildren(...SHOP_FIELDS.map((field) => consoleField("shop", field)));
  document.getElementById("onboard-bank").replaceChildren(...BANK_FIELDS.map((field) => consoleField("bank", field)));
  onboarding = oneChange(
    () => {
      const shop = readFields("shop", SHOP_FIELDS);
      const bank = shop.wrong ? {} : readFields("bank", BANK_FIELDS);
      const wrong = shop.wrong || bank.wrong;
      if (wrong) {
        wrong.focus();
        return null;
      }
      const region = state.regions.find((r) => r.code === state.region);
      return {
        ...shop.values,
        currency: region.currency,
        size_class: form.elements.size_class.value,
        bank: bank.values,
      };
    },
    (body, key) => api("POST", "/v1/merchants", body, { key }),
  );
}

// --- a shop ---------------------------------------------------------------------------------

let shown = null; // the MerchantOut shown

function drawShop() {
  document.getElementById("shop-name").textContent = shown.display_name;
  const rows = [
    ["id", shown.id],
    ["legal_name", shown.legal_name],
    ["kana_name", shown.kana_name],
    ["qr_name", shown.qr_name],
    ["qr_city", shown.qr_city],
    ["mcc", shown.mcc],
    ["jsic_major", shown.jsic_major],
    ["district", shown.district],
    ["size_class", t("console.size." + shown.size_class)],
  ];
  document.getElementById("shop-profile").replaceChildren(
    ...rows.flatMap(([name, value]) => [el("dt", { text: t("console.field." + name) }), el("dd", { text: value })]),
  );
  document.getElementById("shop-state").textContent = t("console.shop.state", { status: t("console.status." + shown.status) });
  document.getElementById("status-change").textContent = t(shown.status === "active" ? "console.shop.suspend" : "console.shop.reinstate");
}

async function drawTerminals({ state, problem }) {
  const { terminals } = await api("GET", `/v1/merchants/${encodeURIComponent(shown.id)}/terminals`);
  document.getElementById("terminals").hidden = terminals.length === 0;
  document.getElementById("terminals-empty").hidden = terminals.length > 0;
  document.getElementById("terminal-rows").replaceChildren(
    ...terminals.map((terminal) =>
      el(
        "tr",
        {},
        el("td", { text: terminal.label }),
        el("td", { text: dateTime(terminal.created_at) }),
        el("td", { text: t("console.shop.terminal." + terminal.status) }),
        el(
          "td",
          {},
          state.operator && terminal.status === "active"
            ? el("button", {
                type: "button",
                class: "secondary",
                text: t("console.shop.revoke", { label: terminal.label }),
                onclick: (event) =>
                  withButtonOff(event.target, async () => {
                    say(problem, "");
                    try {
                      await api("POST", `/v1/merchants/${encodeURIComponent(shown.id)}/terminals/${encodeURIComponent(terminal.id)}/revoke`);
                      await drawTerminals({ state, problem });
                      say(problem, t("console.shop.revoked", { label: terminal.label }), "ok");
                    } catch (error) {
                      say(problem, refusal(error));
                    }
                  }),
              })
            : null,
        ),
      ),
    ),
  );
}

export async function showShop(context, id) {
  showView("shop");
  shown = await api("GET", `/v1/merchants/${encodeURIComponent(id)}`);
  drawShop();
  document.getElementById("status-reason").value = "";
  await drawTerminals(context);
  await drawCode(shown);
}

export function setUpShops(context) {
  const { state, problem } = context;
  shopList = pagedList({
    more: document.getElementById("shops-more"),
    fetchPage: async (after) => {
      const query = new URLSearchParams({ region: state.region, limit: String(PAGE_SIZE) });
      if (after) query.set("after", after);
      const page = await api("GET", "/v1/merchants?" + query);
      return { items: page.merchants, next_after: page.next_after };
    },
    draw: (merchants) => {
      document.getElementById("shops-caption").textContent = t("console.shops.caption", { region: context.region().name });
      document.getElementById("shop-rows").replaceChildren(
        ...merchants.map((merchant) =>
          el(
            "tr",
            {},
            el("td", {}, el("a", { href: "#shop/" + merchant.id, text: merchant.display_name })),
            el("td", { text: merchant.id }),
            el("td", { text: merchant.district }),
            el("td", { text: t("console.size." + merchant.size_class) }),
            el("td", {}, el("span", { class: "tag", text: t("console.status." + merchant.status) })),
          ),
        ),
      );
    },
    onError: (error) => say(problem, refusal(error)),
  });

  document.getElementById("onboard-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      try {
        const merchant = await onboarding();
        if (!merchant) {
          say(problem, t("refusal.invalid_request"));
          return;
        }
        context.after("#shop/" + merchant.id, t("console.onboard.done", { name: merchant.display_name }));
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });

  document.getElementById("status-form").addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(event.submitter, async () => {
      say(problem, "");
      const reason = document.getElementById("status-reason");
      if (!reason.value.trim()) {
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        say(problem, t("refusal.invalid_request"));
        return;
      }
      reason.removeAttribute("aria-invalid");
      const suspending = shown.status === "active";
      try {
        shown = await api("POST", `/v1/merchants/${encodeURIComponent(shown.id)}/${suspending ? "suspension" : "reinstatement"}`, {
          reason: reason.value.trim(),
        });
        reason.value = "";
        drawShop();
        say(problem, t(suspending ? "console.shop.suspended" : "console.shop.reinstated", { name: shown.display_name }), "ok");
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
  setUpPrint();
}
