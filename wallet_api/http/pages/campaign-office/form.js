// The campaign form: every setting of every kind the API has, each explained beside its field;
// the same form creates a campaign and changes one that has not opened.

import { api, oneChange } from "/static/api.js";
import { el, labelled, t } from "/static/ui.js";

// Each kind's settings: [name, type]; "yen" and "points" are whole numbers above zero,
// "count" a whole number (empty allowed when "optional"), "time" a date and time in Japan.
const PREMIUM = [
  ["price", "yen"],
  ["points_per_set", "points"],
  ["restricted_points_per_set", "count"],
  ["sets_per_person", "points"],
  ["sets_per_household", "optional"],
  ["total_sets", "points"],
];
const SALE = [
  ["sale_from", "time"],
  ["sale_until", "time"],
  ["valid_until", "time"],
];
const FIELDS = {
  premium_sets: [...PREMIUM, ...SALE],
  lottery: [...PREMIUM, ["applications_from", "time"], ["applications_until", "time"], ...SALE],
  spend_back: [
    ["rate_percent", "percent"],
    ["per_payment_cap", "points"],
    ["per_person_cap", "points"],
    ["budget", "points"],
    ["earn_from", "time"],
    ["earn_until", "time"],
    ["valid_until", "time"],
    ["local_shops_only", "flag"],
  ],
  benefit: [
    ["points_per_person", "points"],
    ["budget", "points"],
    ["payout_from", "time"],
    ["payout_until", "time"],
    ["valid_until", "time"],
    ["local_shops_only", "flag"],
  ],
};
const ELIGIBILITY = [
  ["min_age", "optional"],
  ["max_age", "optional"],
  ["districts", "list"],
];
const SHOPS = [
  ["merchant_categories", "list"],
  ["merchant_districts", "list"],
];

// A time in Japan as the form shows it (YYYY-MM-DDTHH:MM:SS), and back.
export function tokyoInput(iso) {
  return new Date(Date.parse(iso) + 9 * 3600 * 1000).toISOString().slice(0, 19);
}

export function tokyoIso(value) {
  return (value.length === 16 ? value + ":00" : value) + "+09:00";
}

function field(name, type) {
  const id = "f-" + name;
  if (type === "flag") {
    return el(
      "label",
      { class: "choice" },
      el("input", { type: "checkbox", id, name }),
      el("span", {}, t("office.field." + name), el("span", { class: "hint", text: t("office.field." + name + ".hint") })),
    );
  }
  const attributes = { id, name, autocomplete: "off" };
  if (type === "time") Object.assign(attributes, { type: "datetime-local", step: "1" });
  else if (type !== "list" && type !== "text") attributes.inputmode = type === "percent" ? "decimal" : "numeric";
  return labelled(el("input", attributes), t("office.field." + name), t("office.field." + name + ".hint"));
}

function sizeClasses() {
  return el(
    "fieldset",
    { id: "size-classes" },
    el("legend", { text: t("office.field.merchant_size_classes") }),
    el("span", { class: "hint", text: t("office.field.merchant_size_classes.hint") }),
    ["local", "large_chain"].map((size) =>
      el("label", { class: "choice" }, el("input", { type: "checkbox", name: "size", value: size }), el("span", { text: t("office.size." + size) })),
    ),
  );
}

export function kindOf(campaign) {
  return campaign.kind === "premium_sets" && campaign.terms.applications_from ? "lottery" : campaign.kind;
}

// Draw the fields of the chosen kind (keeping what was typed in fields both kinds have).
export function drawFields(form, regions) {
  const kept = new Map([...form.querySelectorAll("input[id^=f-], select[id^=f-]")].map((input) => [input.id, input.type === "checkbox" ? input.checked : input.value]));
  const kind = form.elements.kind.value;
  const regionSelect = el("select", { id: "f-region", name: "region" }, regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.code})` })));
  document.getElementById("fields").replaceChildren(
    field("id", "text"),
    labelled(regionSelect, t("office.field.region"), t("office.field.region.hint")),
    field("name", "text"),
    ...FIELDS[kind].map(([name, type]) => field(name, type)),
  );
  document.getElementById("eligibility-fields").replaceChildren(
    ...ELIGIBILITY.map(([name, type]) => field(name, type)),
    ...(kind === "spend_back" ? [sizeClasses(), ...SHOPS.map(([name, type]) => field(name, type))] : []),
  );
  for (const [id, value] of kept) {
    const input = document.getElementById(id);
    if (!input) continue;
    if (input.type === "checkbox") input.checked = value;
    else input.value = value;
  }
}

// Fill the form from a campaign, to change it.
export function fillFrom(form, campaign, regions) {
  form.elements.kind.value = kindOf(campaign);
  drawFields(form, regions);
  const set = (name, value) => {
    const input = document.getElementById("f-" + name);
    if (!input || value === null || value === undefined) return;
    if (input.type === "checkbox") input.checked = Boolean(value);
    else if (input.type === "datetime-local") input.value = tokyoInput(value);
    else input.value = Array.isArray(value) ? value.join(", ") : String(value);
  };
  set("id", campaign.id);
  set("region", campaign.region);
  set("name", campaign.name);
  for (const [name, value] of Object.entries(campaign.terms)) set(name, value);
  if (campaign.terms.rate_basis_points) set("rate_percent", campaign.terms.rate_basis_points / 100);
  for (const [name, value] of Object.entries(campaign.eligibility)) set(name, value);
  document.getElementById("residents-only").checked = campaign.eligibility.residents_only !== false;
  for (const box of form.querySelectorAll("input[name=size]")) {
    box.checked = (campaign.eligibility.merchant_size_classes || []).includes(box.value);
  }
}

const whole = (text) => text.normalize("NFKC").replace(/[,\s]/g, "");

// The request body the form says, or { wrong: input } for the first field that is not right.
export function bodyOf(form) {
  const kind = form.elements.kind.value;
  const body = {
    kind: kind === "lottery" ? "premium_sets" : kind,
    id: document.getElementById("f-id").value.trim(),
    region: document.getElementById("f-region").value,
    name: document.getElementById("f-name").value.trim(),
  };
  if (!/^cp-[a-z0-9-]{2,37}$/.test(body.id)) return { wrong: document.getElementById("f-id") };
  if (!body.name) return { wrong: document.getElementById("f-name") };
  const read = (name, type) => {
    const input = document.getElementById("f-" + name);
    const text = input.type === "checkbox" ? "" : input.value.trim();
    if (type === "flag") return { value: input.checked };
    if (type === "time") return text ? { value: tokyoIso(text) } : { wrong: input };
    if (type === "list") return { value: text ? text.normalize("NFKC").split(/[,、]/).map((part) => part.trim()).filter(Boolean) : [] };
    if (type === "percent") {
      const percent = Number(whole(text));
      return text && Number.isFinite(percent) && percent > 0 && percent <= 100 ? { value: Math.round(percent * 100) } : { wrong: input };
    }
    if (type === "optional" && !text) return { value: null };
    const number = whole(text);
    if (!/^[0-9]{1,13}$/.test(number)) return { wrong: input };
    const value = Number(number);
    return type === "count" || type === "optional" || value > 0 ? { value } : { wrong: input };
  };
  for (const [name, type] of FIELDS[kind]) {
    const { value, wrong } = read(name, type);
    if (wrong) return { wrong };
    body[name === "rate_percent" ? "rate_basis_points" : name] = value;
  }
  const eligibility = { residents_only: document.getElementById("residents-only").checked };
  for (const [name, type] of [...ELIGIBILITY, ...(kind === "spend_back" ? SHOPS : [])]) {
    const { value, wrong } = read(name, type);
    if (wrong) return { wrong };
    if (value !== null) eligibility[name] = value;
  }
  if (kind === "spend_back") {
    eligibility.merchant_size_classes = [...form.querySelectorAll("input[name=size]:checked")].map((box) => box.value);
  }
  body.eligibility = eligibility;
  return { body };
}

// Creating or changing, as one change each: a try whose answer was lost goes again as it was.
export function campaignChange(form, editing) {
  return oneChange(
    () => {
      const { body, wrong } = bodyOf(form);
      if (wrong) {
        wrong.setAttribute("aria-invalid", "true");
        wrong.focus();
        return null;
      }
      for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
      return body;
    },
    (body, key) =>
      editing()
        ? api("PUT", `/v1/campaigns/${body.id}`, body, { key })
        : api("POST", "/v1/campaigns", body, { key }),
  );
}
