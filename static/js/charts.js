/* Package charts: Chart.js 4 over the JSON the page embeds with json_script.
 *
 * The server sends the numbers (#chart-data inside the #charts partial); this file
 * only draws them. It (re)draws on page load, after an htmx swap of the charts
 * partial, after htmx restores a page from its history cache (canvases come back
 * blank), and when the OS switches between light and dark. Before htmx snapshots
 * the page for history, charts are destroyed so the snapshot holds clean canvases.
 * Colours come from CSS variables (--series-1..8: the Okabe-Ito palette, which stays
 * distinguishable with the common colour-vision deficiencies; lighter in dark mode).
 */
(function () {
  "use strict";
  var charts = new Map();
  // Shared with the compare page (static/js/chart_common.js, loaded first).
  var common = window.PypistatsCharts;
  var cssVar = common.cssVar;
  var palette = common.palette;
  var periodTitle = common.periodTitle;
  var withAlpha = common.withAlpha;

  function formatNumber(value) {
    if (value === null || value === undefined) return "no data";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 });
  }

  function readPayload() {
    var node = document.getElementById("chart-data");
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function build(canvas, payload) {
    var spec = null;
    for (var i = 0; i < payload.charts.length; i++) {
      if (payload.charts[i].id === canvas.dataset.chart) spec = payload.charts[i];
    }
    if (!spec || typeof window.Chart === "undefined") return;
    var colours = palette();
    var fg = cssVar("--fg", "#1c1f24");
    var muted = cssVar("--muted", "#5d6470");
    var grid = cssVar("--border", "#dfe3ea");
    var card = cssVar("--card", "#ffffff");
    var log = payload.options.scale === "log" && !spec.share;
    var partial = payload.periods.partial;
    var datasets = spec.datasets.map(function (ds, index) {
      var colour = colours[index % colours.length];
      return {
        label: ds.label,
        data: ds.data,
        borderColor: colour,
        backgroundColor: spec.share ? withAlpha(colour, 0.55) : colour,
        fill: spec.share ? (index === 0 ? "origin" : "-1") : false,
        borderWidth: spec.share ? 1 : 2,
        // The unfinished last period is a hollow point, not joined to the line: its sum
        // is not comparable with whole periods yet (the tooltip says "partial").
        pointRadius: function (ctx) { return partial[ctx.dataIndex] ? 4 : 0; },
        pointBackgroundColor: function (ctx) { return partial[ctx.dataIndex] ? card : colour; },
        pointBorderColor: colour,
        pointBorderWidth: 2,
        pointHoverRadius: 4,
        tension: 0,
        spanGaps: false,
        segment: {
          borderColor: function (ctx) { return partial[ctx.p1DataIndex] && !spec.share ? "transparent" : undefined; },
          borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [4, 4] : undefined; }
        }
      };
    });
    var unit = payload.options.agg === "month" ? "month" : payload.options.agg === "week" ? "week" : undefined;
    var existing = charts.get(canvas);
    if (existing) existing.destroy();
    var chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: payload.periods.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        color: fg,
        plugins: {
          annotation: { annotations: common.markerAnnotations(payload) },
          legend: { position: "bottom", labels: { color: fg, boxWidth: 12, boxHeight: 12, usePointStyle: false } },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? periodTitle(payload, items[0].dataIndex) : ""; },
              label: function (item) {
                var v = item.raw;
                if (spec.share) return " " + item.dataset.label + ": " + (v === null ? "no data" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 2 }) + "%");
                return " " + item.dataset.label + ": " + formatNumber(v);
              }
            }
          }
        },
        scales: {
          x: {
            type: "time",
            time: { unit: unit, tooltipFormat: "yyyy-MM-dd" },
            ticks: { color: muted, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
            grid: { color: grid }
          },
          y: {
            type: log ? "logarithmic" : "linear",
            stacked: spec.share,
            beginAtZero: !log,
            max: spec.share ? 100 : undefined,
            ticks: {
              color: muted,
              callback: function (value) {
                if (spec.share) return value + "%";
                return Number(value).toLocaleString(undefined, { notation: "compact" });
              }
            },
            grid: { color: grid }
          }
        }
      }
    });
    charts.set(canvas, chart);
  }

  function destroyAll() {
    charts.forEach(function (chart, canvas) {
      chart.destroy();
      // Chart.js leaves a (now empty) style attribute; a snapshot holding it would be an
      // inline style when htmx restores it, which the CSP refuses.
      canvas.removeAttribute("style");
    });
    charts.clear();
  }

  function drawAll(force) {
    // Forget charts whose canvas left the page (swapped out by htmx).
    charts.forEach(function (chart, canvas) {
      if (!document.body.contains(canvas)) { chart.destroy(); charts.delete(canvas); }
    });
    var canvases = document.querySelectorAll("canvas[data-chart]");
    if (!canvases.length) return;
    var payload = readPayload();
    if (!payload) return;
    var drawn = 0;
    canvases.forEach(function (canvas) {
      if (force || !charts.has(canvas)) { build(canvas, payload); drawn++; }
    });
    if (drawn) {
      // A counter the browser tests read to know the charts were (re)drawn.
      document.documentElement.dataset.chartsDrawn = String(Number(document.documentElement.dataset.chartsDrawn || 0) + 1);
    }
  }

  function closeTables(root) {
    // With JavaScript the charts show the data; the tables stay one click away.
    (root || document).querySelectorAll("details.data-table[open]").forEach(function (d) { d.removeAttribute("open"); });
  }

  function start() { closeTables(document); drawAll(false); }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // Only canvases that are new (a swapped-in partial) are drawn; others are left alone.
  document.addEventListener("htmx:afterSettle", function () { drawAll(false); });
  document.addEventListener("htmx:historyRestore", function () { destroyAll(); closeTables(document); drawAll(true); });
  document.addEventListener("htmx:beforeHistorySave", function () {
    destroyAll();
    // htmx restores its snapshot as markup: any style attribute in it (Chart.js sizing, an
    // empty one the browser leaves on inputs) would be an inline style the CSP refuses.
    document.body.querySelectorAll("[style]").forEach(function (el) { el.removeAttribute("style"); });
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) drawAll(true); });
  if (window.matchMedia) {
    var media = window.matchMedia("(prefers-color-scheme: dark)");
    if (media.addEventListener) media.addEventListener("change", function () { drawAll(true); });
  }
})();
