// The two summary charts (Chart.js from vendor/): spending by category and the monthly trend.

import { money, monthLabel, monthStart } from "./format.js";

const COLORS = ["#0f766e", "#4f46e5", "#b45309", "#be185d", "#0369a1", "#4d7c0f"];
const charts = new Map();

function ChartJs() {
  return window.Chart;
}

function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

/** Currencies in a summary, biggest total first (one dataset per currency: amounts never mix currencies). */
export function currenciesOf(summary) {
  return Object.entries(summary.totals || {})
    .sort((a, b) => b[1] - a[1])
    .map(([currency]) => currency);
}

function draw(canvas, config) {
  const previous = charts.get(canvas.id);
  if (previous) previous.destroy();
  const chart = new (ChartJs())(canvas, config);
  charts.set(canvas.id, chart);
  return chart;
}

function baseOptions(currencies) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: reducedMotion() ? false : { duration: 350 },
    plugins: {
      legend: { display: currencies.length > 1, position: "bottom" },
      tooltip: {
        callbacks: {
          label: (ctx) => `${ctx.dataset.label}: ${money(ctx.parsed.y ?? ctx.parsed.x, ctx.dataset.label)}`,
        },
      },
    },
    scales: {
      y: { beginAtZero: true, grid: { color: "#eef1f5" }, ticks: { color: "#5b6474" } },
      x: { grid: { display: false }, ticks: { color: "#5b6474" } },
    },
  };
}

/** Bar chart of a summary's byCategory (top 10 by the main currency). Returns false when there is nothing. */
export function drawCategoryChart(canvas, summary) {
  const currencies = currenciesOf(summary);
  const rows = [...(summary.byCategory || [])];
  if (rows.length === 0 || currencies.length === 0) {
    const previous = charts.get(canvas.id);
    if (previous) previous.destroy();
    charts.delete(canvas.id);
    return false;
  }
  const main = currencies[0];
  rows.sort((a, b) => (b.totals[main] || 0) - (a.totals[main] || 0));
  const top = rows.slice(0, 10);
  draw(canvas, {
    type: "bar",
    data: {
      labels: top.map((row) => row.category),
      datasets: currencies.map((currency, i) => ({
        label: currency,
        data: top.map((row) => row.totals[currency] || 0),
        backgroundColor: COLORS[i % COLORS.length],
        borderRadius: 6,
        maxBarThickness: 36,
      })),
    },
    options: baseOptions(currencies),
  });
  canvas.setAttribute(
    "aria-label",
    `Bar chart of this month's spending by category: ${top
      .map((row) => `${row.category} ${money(row.totals[main] || 0, main)}`)
      .join(", ")}`,
  );
  return true;
}

/** The 12 months ending with this one, as YYYY-MM. */
export function lastTwelveMonths() {
  return Array.from({ length: 12 }, (_, i) => monthStart(i - 11).slice(0, 7));
}

/** Line chart of a summary's byMonth over the last 12 months (missing months are zero). */
export function drawTrendChart(canvas, summary) {
  const months = lastTwelveMonths();
  const byMonth = new Map((summary.byMonth || []).map((row) => [row.month, row.totals]));
  const currencies = currenciesOf(summary);
  if (currencies.length === 0) currencies.push("USD");
  draw(canvas, {
    type: "line",
    data: {
      labels: months.map(monthLabel),
      datasets: currencies.map((currency, i) => ({
        label: currency,
        data: months.map((month) => (byMonth.get(month) || {})[currency] || 0),
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: `${COLORS[i % COLORS.length]}22`,
        fill: i === 0,
        tension: 0.3,
        pointRadius: 3,
      })),
    },
    options: baseOptions(currencies),
  });
  return true;
}
