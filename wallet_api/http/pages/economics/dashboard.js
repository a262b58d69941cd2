// The economists' dashboard: a region's statistics over a date range, each chart drawn from
// exactly the figures of the feed (the economists' API serves the same stored numbers as the
// files), with its table, the data dictionary's definitions beside it, and the same numbers
// to download as CSV or Parquet. Cells withheld by the k-anonymity rule say so.

import { api, ApiError } from "/static/api.js";
import { addMessages, el, language, refusal, say, staffSession, t, tokyoDate, withButtonOff, yen } from "/static/ui.js";
import { MESSAGES } from "/economics/messages.js";
import { flowDiagram, heatMap, legend, lineChart, lorenzCurve, stackedBars } from "/economics/charts.js";

addMessages(MESSAGES);

const READERS = ["economist", "auditor", "operator"];
const DEFAULT_DAYS = 7;
const problem = document.getElementById("problem");
const state = { regions: [], dictionary: null, shown: null };

const whole = (value) => yen(value);
const ratio = (value) =>
  new Intl.NumberFormat(language() === "ja" ? "ja-JP" : "en-GB", { maximumFractionDigits: 4 }).format(value);
const formatOf = (name) => (state.dictionary.figures[name].type === "integer" ? whole : ratio);


// --- what each chart shows --------------------------------------------------------------------

const SERIES_CHARTS = [
  ["issuance", "bars", ["issued_purchased", "issued_premium", "issued_benefit", "issued_spend_back"]],
  ["outstanding", "lines", ["outstanding_purchased", "outstanding_premium", "outstanding_benefit"]],
  ["spending", "lines", ["spending", "city_fees", "b2b_spending", "merchant_receipts", "redemption"]],
  ["returns", "lines", ["refunds", "expiry", "spend_back_taken_back"]],
  ["ratios", "lines", ["velocity", "local_recirculation", "leakage"]],
  ["wallets", "lines", ["active_wallets", "new_wallets"]],
  ["hhi", "lines", ["merchant_hhi"]],
  ["gini", "lines", ["merchant_gini"]],
  [
    "withheld",
    "lines",
    ["suppressed_cells_district_to_district", "suppressed_cells_age_band_to_sector", "suppressed_cells_campaign_uptake"],
  ],
];

function definitions(terms) {
  return el(
    "div",
    { class: "definitions" },
    el("h3", { text: t("econ.definitions") }),
    el(
      "dl",
      { class: "terms" },
      terms.flatMap(([label, term]) => [
        el("dt", { text: label }),
        el("dd", {}, term.meaning, el("span", { class: "quiet", text: "　" + t("econ.unit", { unit: term.unit }) })),
      ]),
    ),
  );
}

function section(id, title, ...children) {
  return el(
    "section",
    { class: "chart-section", "data-chart": id, "aria-labelledby": `chart-${id}` },
    el("h2", { id: `chart-${id}`, text: title }),
    ...children,
  );
}

function numbersTable(title, head, rows) {
  return el(
    "details",
    {},
    el("summary", { text: t("econ.table") }),
    el(
      "table",
      { class: "lines" },
      el("caption", { class: "visually-hidden", text: title }),
      el("thead", {}, el("tr", {}, head.map((text, index) => el("th", { scope: "col", class: index ? "number" : null, text })))),
      el("tbody", {}, rows.map(([first, ...rest]) => el("tr", {}, el("th", { scope: "row", text: first }), rest.map((text) => el("td", { class: "number", text }))))),
    ),
  );
}

function seriesSection([id, kind, names], days) {
  const dates = days.map((day) => day.business_date);
  const series = names.map((name) => ({ key: name, label: t("econ.figure." + name), values: days.map((day) => day[name]) }));
  // A chart's figures share a type: whole numbers, or ratios.
  const format = formatOf(names[0]);
  const title = t("econ.chart." + id);
  const chart = kind === "bars" ? stackedBars(title, dates, series, format) : lineChart(title, dates, series, format);
  const rows = dates.map((date, index) => [date, ...series.map((s) => (s.values[index] === null ? t("econ.empty-cell") : format(s.values[index])))]);
  return section(
    id,
    title,
    chart,
    legend(series),
    numbersTable(title, [t("econ.date"), ...series.map((s) => s.label)], rows),
    definitions(names.map((name) => [t("econ.figure." + name), state.dictionary.figures[name]])),
  );
}

// The cells of a table summed over the range; a combination withheld on any day is withheld.
export function matrixOf(cells, table) {
  const found = new Map();
  const rows = new Set();
  const columns = new Set();
  for (const cell of cells) {
    if (cell.table !== table) continue;
    const key = cell.row + "\u0000" + cell.column;
    rows.add(cell.row);
    columns.add(cell.column);
    const sum = found.get(key) || { amount: 0, count: 0, people: 0, withheld: false };
    if (cell.withheld) sum.withheld = true;
    else {
      sum.amount += cell.amount;
      sum.count += cell.count;
      sum.people += cell.people;
    }
    found.set(key, sum);
  }
  return { rows: [...rows].sort(), columns: [...columns].sort(), cells: found };
}

function tableTerms(table) {
  const terms = state.dictionary.tables[table];
  return ["row", "column", "amount", "count", "people"].map((name) => [name, terms[name]]);
}

function flowSections(cells) {
  const withheld = t("econ.withheld");
  const districts = matrixOf(cells, "district_to_district");
  const ages = matrixOf(cells, "age_band_to_sector");
  const sectors = matrixOf(cells, "sector_to_sector");
  const districtTitle = t("econ.chart.district-flows");
  const ageTitle = t("econ.chart.age-flows");
  const sectorTitle = t("econ.chart.sector-flows");
  return [
    section(
      "district-flows",
      districtTitle,
      heatMap(districtTitle, t("econ.heat.row-district"), districts.rows, districts.columns, districts.cells, { format: whole, withheld }),
      el("p", { class: "quiet", text: t("econ.withheld-note") }),
      definitions(tableTerms("district_to_district")),
    ),
    section(
      "district-diagram",
      t("econ.chart.district-diagram"),
      flowDiagram(t("econ.chart.district-diagram"), districts.rows, districts.columns, districts.cells, whole),
    ),
    section(
      "age-flows",
      ageTitle,
      heatMap(ageTitle, t("econ.heat.row-age"), ages.rows, ages.columns, ages.cells, { format: whole, withheld }),
      definitions(tableTerms("age_band_to_sector")),
    ),
    section(
      "sector-flows",
      sectorTitle,
      heatMap(sectorTitle, t("econ.heat.row-sector"), sectors.rows, sectors.columns, sectors.cells, { format: whole, withheld }),
      definitions(tableTerms("sector_to_sector")),
    ),
    section(
      "sector-diagram",
      t("econ.chart.sector-diagram"),
      flowDiagram(t("econ.chart.sector-diagram"), sectors.rows, sectors.columns, sectors.cells, whole),
    ),
  ];
}

function lorenzSection(cells) {
  const days = [...new Set(cells.filter((c) => c.table === "merchant_lorenz").map((c) => c.business_date))].sort();
  if (days.length === 0) return null;
  const last = days[days.length - 1];
  const points = cells
    .filter((c) => c.table === "merchant_lorenz" && c.business_date === last)
    .map((c) => ({ percent: Number(c.row), shops: c.count, amount: c.amount }))
    .sort((a, b) => a.percent - b.percent);
  const title = t("econ.chart.lorenz", { date: last });
  return section(
    "lorenz",
    title,
    lorenzCurve(title, points, t("econ.lorenz.equal")),
    numbersTable(
      title,
      [t("econ.lorenz.shops"), t("econ.lorenz.count"), t("econ.lorenz.amount")],
      points.map((p) => [`${p.percent}%`, whole(p.shops), whole(p.amount)]),
    ),
    definitions(tableTerms("merchant_lorenz")),
  );
}

function campaignSection(cells) {
  const uptake = matrixOf(cells, "campaign_uptake");
  if (uptake.rows.length === 0) return null;
  const shown = (campaign, column, measure) => {
    const cell = uptake.cells.get(campaign + "\u0000" + column);
    if (!cell) return t("econ.empty-cell");
    return cell.withheld ? t("econ.withheld") : whole(cell[measure]);
  };
  const title = t("econ.chart.campaigns");
  return section(
    "campaigns",
    title,
    el(
      "table",
      { class: "lines", id: "campaign-uptake" },
      el("caption", { class: "visually-hidden", text: title }),
      el(
        "thead",
        {},
        el("tr", {}, [t("econ.campaign"), t("econ.campaign.points"), t("econ.campaign.people"), t("econ.campaign.breakage")].map((text, i) => el("th", { scope: "col", class: i ? "number" : null, text }))),
      ),
      el(
        "tbody",
        {},
        uptake.rows.map((campaign) =>
          el(
            "tr",
            { "data-campaign": campaign },
            el("th", { scope: "row", text: campaign }),
            el("td", { class: "number", "data-measure": "points", text: shown(campaign, "points", "amount") }),
            el("td", { class: "number", text: shown(campaign, "points", "people") }),
            el("td", { class: "number", "data-measure": "breakage", text: shown(campaign, "breakage", "amount") }),
          ),
        ),
      ),
    ),
    definitions(tableTerms("campaign_uptake")),
  );
}

// --- the page ---------------------------------------------------------------------------------

function downloads(currency, since, until) {
  const query = `since=${since}&until=${until}`;
  const base = `/v1/statistics/${encodeURIComponent(currency)}`;
  return el(
    "div",
    { class: "downloads" },
    el("h2", { text: t("econ.downloads") }),
    el(
      "ul",
      { class: "plain" },
      [
        ["daily.csv", "econ.download.daily-csv"],
        ["daily.parquet", "econ.download.daily-parquet"],
        ["cells.csv", "econ.download.cells-csv"],
        ["cells.parquet", "econ.download.cells-parquet"],
      ].map(([file, key]) => el("li", {}, el("a", { href: `${base}/${file}?${query}`, download: "", text: t(key) }))),
    ),
  );
}

async function show() {
  const region = state.regions.find((r) => r.code === document.getElementById("region").value);
  const since = document.getElementById("since").value;
  const until = document.getElementById("until").value;
  const query = `since=${since}&until=${until}`;
  const base = `/v1/statistics/${encodeURIComponent(region.currency)}`;
  const [days, cells] = await Promise.all([api("GET", `${base}/daily?${query}`), api("GET", `${base}/cells?${query}`)]);
  state.shown = { region, since, until, days, cells };
  draw();
}

function draw() {
  if (!state.shown) return;
  const { region, since, until, days, cells } = state.shown;
  document.getElementById("range-line").textContent = t("econ.range", {
    region: region.name,
    currency: region.currency,
    since,
    until,
    days: days.length,
  });
  document.getElementById("no-data").hidden = days.length > 0;
  const charts = document.getElementById("charts");
  if (days.length === 0) {
    charts.replaceChildren();
    return;
  }
  charts.replaceChildren(
    downloads(region.currency, since, until),
    ...SERIES_CHARTS.map((chart) => seriesSection(chart, days)),
    ...flowSections(cells),
    lorenzSection(cells),
    campaignSection(cells),
  );
}

async function start() {
  const session = await staffSession({ path: "/economics/", roles: READERS, notStaff: "econ.not-staff", problem, onChange: draw });
  if (!session) return;
  const [{ regions }, dictionary] = await Promise.all([api("GET", "/v1/regions"), api("GET", "/v1/statistics/dictionary")]);
  state.regions = regions;
  state.dictionary = dictionary;
  document.getElementById("region").replaceChildren(...regions.map((r) => el("option", { value: r.code, text: `${r.name} (${r.code})` })));
  document.getElementById("since").value = tokyoDate(DEFAULT_DAYS);
  document.getElementById("until").value = tokyoDate(1);
  document.getElementById("range-form").hidden = false;
  await show();
}

document.getElementById("range-form").addEventListener("submit", (event) => {
  event.preventDefault();
  return withButtonOff(event.submitter, async () => {
    say(problem, "");
    try {
      await show();
    } catch (error) {
      say(problem, refusal(error));
    }
  });
});
start().catch((error) => {
  if (error instanceof ApiError && error.status === 401) return;
  say(problem, refusal(error));
});
