// The fee catalogue: the fees in force on a day, each procedure's history, and (for an
// operator) a new fee from a valid-from date, which never rewrites what was charged before.

import { api, oneChange } from "/static/api.js";
import {
  businessDay,
  dateTime,
  el,
  fillRegions,
  language,
  refusal,
  say,
  showView,
  t,
  tokyoDate,
  typedAmount,
  withButtonOff,
  yen,
} from "/static/ui.js";

const money = (amount) => t("yen", { amount: yen(amount) });
const procedureName = (item) => (language() === "ja" ? item.name_ja : item.name_en);
const readsHistory = (session) => session.roles.some((role) => role === "operator" || role === "auditor");
const edits = (session) => session.roles.includes("operator");

let departments = new Map(); // code -> DepartmentOut, of the region shown

function region() {
  return document.getElementById("fees-region").value;
}

async function loadDepartments() {
  const answer = await api("GET", `/v1/regions/${encodeURIComponent(region())}/departments`);
  departments = new Map(answer.departments.map((d) => [d.code, d]));
  const select = document.getElementById("edit-department");
  select.replaceChildren(...answer.departments.map((d) => el("option", { value: d.code, text: procedureName(d) })));
}

async function showHistory(item) {
  const { fees } = await api("GET", `/v1/regions/${encodeURIComponent(region())}/fees/${item.procedure}/history`);
  const box = document.getElementById("fee-history");
  box.replaceChildren(
    el("h3", { text: t("city.fees.history-of", { name: procedureName(item) }) }),
    el(
      "ul",
      { class: "plain" },
      fees.map((version) =>
        el(
          "li",
          {},
          el("div", { class: "row" }, el("span", { text: `${businessDay(version.valid_from)}〜` }), el("span", { class: "amount", text: money(version.fee) })),
          el("span", { class: "quiet", text: t("city.fees.history-by", { by: version.recorded_by, time: dateTime(version.recorded_at) }) }),
        ),
      ),
    ),
  );
  box.hidden = false;
  box.querySelector("h3").scrollIntoView({ block: "nearest" });
}

function startEdit(item) {
  const form = document.getElementById("fee-edit");
  form.hidden = false;
  document.getElementById("edit-procedure").value = item ? item.procedure : "";
  document.getElementById("edit-procedure").readOnly = Boolean(item);
  document.getElementById("edit-name-ja").value = item ? item.name_ja : "";
  document.getElementById("edit-name-en").value = item ? item.name_en : "";
  if (item) document.getElementById("edit-department").value = item.department;
  document.getElementById("edit-fee").value = item ? String(item.fee) : "";
  document.getElementById("edit-valid-from").value = "";
  saveFee.reset();
  (item ? document.getElementById("edit-fee") : document.getElementById("edit-procedure")).focus();
}

async function renderCatalogue({ state }) {
  const on = document.getElementById("fees-on").value;
  const { fees } = await api("GET", `/v1/regions/${encodeURIComponent(region())}/fees?on=${on}`);
  await loadDepartments();
  document.getElementById("fees-caption").textContent = t("city.fees.caption", {
    date: businessDay(on),
    count: fees.length,
  });
  const history = readsHistory(state.session);
  const editing = edits(state.session);
  document.querySelector("#fees-table .history-column").hidden = !(history || editing);
  document.getElementById("fees-lines").replaceChildren(
    ...fees.map((item) => {
      const department = departments.get(item.department);
      const actions = el("td", { hidden: !(history || editing) });
      if (history) {
        actions.append(
          el("button", {
            type: "button",
            class: "secondary",
            text: t("city.fees.history"),
            "aria-label": t("city.fees.history-of", { name: procedureName(item) }),
            onclick: () => showHistory(item).catch((error) => say(document.getElementById("problem"), refusal(error))),
          }),
        );
      }
      if (editing) {
        actions.append(
          " ",
          el("button", {
            type: "button",
            class: "secondary",
            text: t("city.fees.change"),
            "aria-label": t("city.fees.change-of", { name: procedureName(item) }),
            onclick: () => startEdit(item),
          }),
        );
      }
      return el(
        "tr",
        { "data-procedure": item.procedure },
        el("td", { text: item.procedure }),
        el("td", {}, procedureName(item), item.sample ? el("span", { class: "tag", text: t("city.fees.sample") }) : null),
        el("td", { text: department ? procedureName(department) : item.department }),
        el("td", { class: "number amount", text: money(item.fee) }),
        el("td", { text: businessDay(item.valid_from) }),
        actions,
      );
    }),
  );
  document.getElementById("fee-new").hidden = !editing;
}

const saveFee = oneChange(
  () => {
    const form = document.getElementById("fee-edit");
    const fee = typedAmount(document.getElementById("edit-fee"));
    document.getElementById("edit-fee").setAttribute("aria-invalid", String(fee === null));
    if (!form.checkValidity() || fee === null) return null;
    return {
      procedure: document.getElementById("edit-procedure").value.trim(),
      body: {
        name_ja: document.getElementById("edit-name-ja").value.trim(),
        name_en: document.getElementById("edit-name-en").value.trim(),
        department: document.getElementById("edit-department").value,
        fee,
        valid_from: document.getElementById("edit-valid-from").value,
      },
    };
  },
  ({ procedure, body }) => api("PUT", `/v1/regions/${encodeURIComponent(region())}/fees/${procedure}`, body),
);

export async function showFees(context) {
  showView("fees");
  const { state } = context;
  await fillRegions(document.getElementById("fees-region"), state.counter && state.counter.region);
  const on = document.getElementById("fees-on");
  if (!on.value) on.value = tokyoDate();
  await renderCatalogue(context);
}

export function setUpFees(context) {
  const { problem } = context;
  const form = document.getElementById("fees-form");
  document.getElementById("fee-new").addEventListener("click", () => startEdit(null));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    document.getElementById("fee-history").hidden = true;
    return withButtonOff(form.querySelector("button[type=submit]"), async () => {
      say(problem, "");
      try {
        await renderCatalogue(context);
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
  const edit = document.getElementById("fee-edit");
  edit.addEventListener("submit", (event) => {
    event.preventDefault();
    return withButtonOff(edit.querySelector("button"), async () => {
      say(problem, "");
      try {
        const saved = await saveFee();
        if (!saved) {
          say(problem, t("refusal.validation_error"));
          return;
        }
        edit.hidden = true;
        say(
          problem,
          t("city.fees.saved", { name: procedureName(saved), amount: money(saved.fee), date: businessDay(saved.valid_from) }),
          "ok",
        );
        await renderCatalogue(context);
      } catch (error) {
        say(problem, refusal(error));
      }
    });
  });
}
