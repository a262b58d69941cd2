// Charts drawn as SVG from exactly the numbers given, each mark carrying its number in data-*
// attributes (so a test reads back what was drawn), and heat maps as tables. Nothing is
// loaded from anywhere: the page's Content-Security-Policy allows no other host.

import { el } from "/static/ui.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 260;
const MARGIN = { left: 96, right: 16, top: 16, bottom: 36 };
// Series colours from the design tokens, each distinct and dark enough on white.
export const COLOURS = ["#0017c1", "#c74700", "#197a4b", "#8843e1", "#c11b88", "#00718f"];

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child) element.append(child);
  return element;
}

function titled(text) {
  return svg("title", {}, document.createTextNode(text));
}

function frame(label) {
  return svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": label,
    class: "chart",
    preserveAspectRatio: "xMidYMid meet",
  });
}

function scale(values) {
  const numbers = values.filter((value) => value !== null && value !== undefined);
  const top = Math.max(0, ...numbers);
  const bottom = Math.min(0, ...numbers);
  return { top: top === bottom ? bottom + 1 : top, bottom };
}

function axes(root, { top, bottom }, dates, format, xAt = xOf) {
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (value) => MARGIN.top + plotHeight * (1 - (value - bottom) / (top - bottom));
  for (const value of [bottom, (top + bottom) / 2, top]) {
    root.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: MARGIN.left - 8, y: y(value) + 5, "text-anchor": "end", class: "tick" }, document.createTextNode(format(value))),
    );
  }
  const step = Math.max(1, Math.ceil(dates.length / 8));
  dates.forEach((date, index) => {
    if (index % step !== 0 && index !== dates.length - 1) return;
    root.append(
      svg("text", { x: xAt(index, dates.length), y: HEIGHT - 10, "text-anchor": "middle", class: "tick" }, document.createTextNode(date.slice(5))),
    );
  });
  return y;
}

// The middle of a date's band: bars stand inside the plot, not across its edges.
function xBand(index, count) {
  return MARGIN.left + ((WIDTH - MARGIN.left - MARGIN.right) * (index + 0.5)) / Math.max(count, 1);
}

function xOf(index, count) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  return count <= 1 ? MARGIN.left + plotWidth / 2 : MARGIN.left + (plotWidth * index) / (count - 1);
}

// Lines over the dates: series [{ key, label, values }] (a value may be null: a gap).
export function lineChart(label, dates, series, format) {
  const root = frame(label);
  const y = axes(root, scale(series.flatMap((s) => s.values)), dates, format);
  series.forEach((line, number) => {
    const colour = COLOURS[number % COLOURS.length];
    let run = [];
    const flush = () => {
      if (run.length > 1) root.append(svg("polyline", { points: run.join(" "), fill: "none", stroke: colour, "stroke-width": 3 }));
      run = [];
    };
    line.values.forEach((value, index) => {
      if (value === null || value === undefined) {
        flush();
        return;
      }
      const point = [xOf(index, dates.length), y(value)];
      run.push(point.join(","));
      root.append(
        svg(
          "circle",
          { cx: point[0], cy: point[1], r: 5, fill: colour, "data-series": line.key, "data-date": dates[index], "data-value": value },
          titled(`${line.label} ${dates[index]}: ${format(value)}`),
        ),
      );
    });
    flush();
  });
  return root;
}

// Bars stacked by date: series [{ key, label, values }], values whole and not negative.
export function stackedBars(label, dates, series, format) {
  const root = frame(label);
  const totals = dates.map((_, index) => series.reduce((sum, s) => sum + (s.values[index] || 0), 0));
  const y = axes(root, scale(totals), dates, format, xBand);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const width = Math.min(48, (plotWidth / Math.max(dates.length, 1)) * 0.6);
  dates.forEach((date, index) => {
    let base = 0;
    series.forEach((bar, number) => {
      const value = bar.values[index] || 0;
      const x = xBand(index, dates.length) - width / 2;
      root.append(
        svg(
          "rect",
          {
            x,
            y: y(base + value),
            width,
            height: Math.max(0, y(base) - y(base + value)),
            fill: COLOURS[number % COLOURS.length],
            "data-series": bar.key,
            "data-date": date,
            "data-value": bar.values[index],
          },
          titled(`${bar.label} ${date}: ${format(value)}`),
        ),
      );
      base += value;
    });
  });
  return root;
}

// A key to the colours of a chart's series.
export function legend(series) {
  return el(
    "ul",
    { class: "legend" },
    series.map((s, number) => el("li", {}, el("span", { class: `swatch swatch-${number % COLOURS.length}`, "aria-hidden": "true" }), s.label)),
  );
}

// The matrix as a table whose cells are shaded by amount: [rows], [columns], cells as
// Map("row\u0000column" -> { amount, withheld }).
export function heatMap(caption, corner, rows, columns, cells, { format, withheld }) {
  const amounts = [...cells.values()].filter((cell) => !cell.withheld).map((cell) => cell.amount);
  const top = Math.max(1, ...amounts);
  return el(
    "table",
    { class: "lines heat" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: corner }), columns.map((column) => el("th", { scope: "col", text: column })))),
    el(
      "tbody",
      {},
      rows.map((row) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: row }),
          columns.map((column) => {
            const cell = cells.get(row + "\u0000" + column);
            if (!cell) return el("td", { class: "number heat-none", "data-row": row, "data-column": column, text: "—" });
            if (cell.withheld) {
              return el("td", { class: "number heat-withheld", "data-row": row, "data-column": column, "data-withheld": "true", text: withheld });
            }
            const level = Math.min(5, Math.ceil((5 * cell.amount) / top));
            return el("td", { class: `number heat-${level}`, "data-row": row, "data-column": column, "data-amount": cell.amount, text: format(cell.amount) });
          }),
        ),
      ),
    ),
  );
}

// Flows from the matrix's rows (left) to its columns (right), each band as wide as its amount;
// withheld cells are not drawn (the table beside says where they are).
export function flowDiagram(label, rows, columns, cells, format) {
  const root = frame(label);
  const flows = [];
  for (const [key, cell] of cells) {
    if (cell.withheld || !cell.amount) continue;
    const [row, column] = key.split("\u0000");
    flows.push({ row, column, amount: cell.amount });
  }
  const total = flows.reduce((sum, flow) => sum + flow.amount, 0) || 1;
  const usable = HEIGHT - MARGIN.top - MARGIN.bottom - 8 * Math.max(rows.length, columns.length);
  const sideOf = (names, pick) => {
    const places = new Map();
    let at = MARGIN.top;
    for (const name of names) {
      const size = (usable * flows.filter((flow) => pick(flow) === name).reduce((sum, flow) => sum + flow.amount, 0)) / total;
      places.set(name, { at, size, used: 0 });
      at += size + 8;
    }
    return places;
  };
  const left = sideOf(rows, (flow) => flow.row);
  const right = sideOf(columns, (flow) => flow.column);
  const x0 = 170;
  const x1 = WIDTH - 170;
  for (const flow of flows) {
    const width = (usable * flow.amount) / total;
    const from = left.get(flow.row);
    const to = right.get(flow.column);
    const y0 = from.at + from.used + width / 2;
    const y1 = to.at + to.used + width / 2;
    from.used += width;
    to.used += width;
    const middle = (x0 + x1) / 2;
    root.append(
      svg(
        "path",
        {
          d: `M${x0},${y0} C${middle},${y0} ${middle},${y1} ${x1},${y1}`,
          fill: "none",
          stroke: COLOURS[rows.indexOf(flow.row) % COLOURS.length],
          "stroke-opacity": 0.55,
          "stroke-width": Math.max(1, width),
          "data-row": flow.row,
          "data-column": flow.column,
          "data-amount": flow.amount,
        },
        titled(`${flow.row} → ${flow.column}: ${format(flow.amount)}`),
      ),
    );
  }
  // A name beside each node that has a flow, never on top of the name before it.
  const names = (places, x, anchor) => {
    let below = 0;
    for (const [name, place] of places) {
      if (place.size <= 0) continue;
      const y = Math.max(place.at + place.size / 2 + 5, below + 16);
      root.append(svg("text", { x, y, "text-anchor": anchor, class: "tick" }, document.createTextNode(name)));
      below = y;
    }
  };
  names(left, x0 - 8, "end");
  names(right, x1 + 8, "start");
  return root;
}

// The Lorenz curve from its points [{ percent, shops, amount }], poorest first.
export function lorenzCurve(label, points, equalLabel) {
  const root = frame(label);
  const total = points.length ? points[points.length - 1].amount : 0;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (percent) => MARGIN.left + (plotWidth * percent) / 100;
  const y = (share) => MARGIN.top + plotHeight * (1 - share);
  root.append(
    svg("line", { x1: x(0), y1: y(0), x2: x(100), y2: y(1), class: "grid equal" }, titled(equalLabel)),
    svg("text", { x: x(0), y: HEIGHT - 10, class: "tick" }, document.createTextNode("0%")),
    svg("text", { x: x(100), y: HEIGHT - 10, "text-anchor": "end", class: "tick" }, document.createTextNode("100%")),
    svg("text", { x: MARGIN.left - 8, y: y(1) + 5, "text-anchor": "end", class: "tick" }, document.createTextNode("100%")),
  );
  const share = (amount) => (total ? amount / total : 0);
  root.append(
    svg("polyline", {
      points: points.map((p) => `${x(p.percent)},${y(share(p.amount))}`).join(" "),
      fill: "none",
      stroke: COLOURS[0],
      "stroke-width": 3,
    }),
  );
  for (const point of points) {
    root.append(
      svg(
        "circle",
        { cx: x(point.percent), cy: y(share(point.amount)), r: 5, fill: COLOURS[0], "data-percent": point.percent, "data-shops": point.shops, "data-amount": point.amount },
        titled(`${point.percent}%: ${(100 * share(point.amount)).toFixed(1)}%`),
      ),
    );
  }
  return root;
}
