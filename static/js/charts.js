/* The chart module of every chart page (the package page and the compare page):
 * Chart.js 4 over the payload the page hands over with json_script.
 *
 * The server sends the numbers in <script id="chart-data" type="application/json">
 * (pages/chart.py data_script), inside the partial htmx swaps; this file only draws
 * them. Every <canvas data-chart="ID"> is one chart: ID names one of the payload's
 * `charts` (the package page), or the payload is itself the one chart (the compare
 * page: its `datasets` and `unit` at the top).
 *
 * What a canvas may say about how it looks (each page keeps its look):
 *   data-partial="hollow"      the unfinished last period is a hollow point, not joined
 *                              to the line (default: a dashed segment to a small point);
 *   data-tooltip-order="value" the tooltip lists the lines biggest first (default: the
 *                              legend's order);
 *   data-y-ticks="N"           at most N ticks on the y axis (a log axis over a narrow
 *                              span otherwise gets a tick per 1..9 step).
 * A chart of `share` (the package page's Python-minor share) is a stacked area of
 * percentages; `unit: "percent"` (the compare page's share modes) a line of them.
 *
 * Charts are (re)drawn on page load, after an htmx swap (new canvases only), after htmx
 * restores a page from its history cache (canvases come back blank), on a return from
 * the back-forward cache, and when the OS switches between light and dark. Before htmx
 * snapshots the page for its history, charts are destroyed and style attributes
 * stripped, so the snapshot holds clean canvases and no inline style the CSP refuses.
 * Colours come from CSS variables (--series-1..8: the Okabe-Ito palette, which stays
 * distinguishable with the common colour-vision deficiencies; lighter in dark mode);
 * series 9 and 10 reuse colours 1 and 2 with a dashed line. The data tables under the
 * charts are folded once when they appear: with JavaScript the charts show the data.
 */
(function () {
  "use strict";
  var DATA_ID = "chart-data";
  var charts = new Map();

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    var colours = [];
    for (var i = 1; i <= 8; i++) colours.push(cssVar("--series-" + i, "#0072B2"));
    return colours;
  }

  function withAlpha(hex, alpha) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!m) return hex;
    return "rgba(" + parseInt(m[1], 16) + "," + parseInt(m[2], 16) + "," + parseInt(m[3], 16) + "," + alpha + ")";
  }

  function readPayload() {
    var node = document.getElementById(DATA_ID);
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function chartOf(payload, id) {
    if (!payload.charts) return payload;
    for (var i = 0; i < payload.charts.length; i++) {
      if (payload.charts[i].id === id) return payload.charts[i];
    }
    return null;
  }

  function periodTitle(payload, index) {
    var agg = payload.options.agg;
    var periods = payload.periods;
    var start = periods.labels[index];
    var text = agg === "week" ? "Week of " + start + " to " + periods.ends[index]
      : agg === "month" ? start.slice(0, 7)
      : payload.options.smooth ? start + " (7-day average)" : start;
    return periods.partial[index] ? text + " (partial)" : text;
  }

  function formatValue(value, percent) {
    if (value === null || value === undefined) return "no data";
    // Percentages carry the digits the server kept (2 on the package page, 4 on compare).
    if (percent) return Number(value).toLocaleString(undefined, { maximumFractionDigits: 4 }) + "%";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 });
  }

  // Data-quality markers (packages_app/sync/quality.py) as chartjs-plugin-annotation
  // annotations: a dashed line for a single day, a shaded box for a range.
  function markerAnnotations(payload) {
    var result = {};
    var colour = cssVar("--muted", "#5d6470");
    (payload.markers || []).forEach(function (m, i) {
      var label = { display: false, content: m.label, position: "start", color: cssVar("--fg", "#1c1f24"), backgroundColor: cssVar("--card", "#ffffff"), font: { size: 11 } };
      var common = {
        borderColor: colour,
        borderWidth: 1,
        label: label,
        enter: function (ctx) { ctx.element.label.options.display = true; return true; },
        leave: function (ctx) { ctx.element.label.options.display = false; return true; }
      };
      if (m.start === m.end) {
        result["marker" + i] = Object.assign({ type: "line", xMin: m.start, xMax: m.start, borderDash: [4, 3] }, common);
      } else {
        result["marker" + i] = Object.assign({ type: "box", xMin: m.start, xMax: m.end, backgroundColor: withAlpha(colour.charAt(0) === "#" ? colour : "#5d6470", 0.12) }, common);
      }
    });
    return result;
  }

  function datasetsOf(spec, partial, look) {
    var colours = palette();
    var card = cssVar("--card", "#ffffff");
    var stacked = Boolean(spec.share);
    return spec.datasets.map(function (ds, index) {
      var colour = colours[index % colours.length];
      var reused = index >= colours.length ? [6, 3] : undefined;
      var dataset = {
        label: ds.label,
        data: ds.data,
        borderColor: colour,
        backgroundColor: stacked ? withAlpha(colour, 0.55) : colour,
        fill: stacked ? (index === 0 ? "origin" : "-1") : false,
        borderWidth: stacked ? 1 : 2,
        borderDash: reused,
        pointHoverRadius: 4,
        tension: 0,
        spanGaps: false
      };
      if (look.partial === "hollow") {
        // The unfinished last period's sum is not comparable with whole periods yet (the
        // tooltip says "partial"): a hollow point, not joined to the line.
        Object.assign(dataset, {
          pointRadius: function (ctx) { return partial[ctx.dataIndex] ? 4 : 0; },
          pointBackgroundColor: function (ctx) { return partial[ctx.dataIndex] ? card : colour; },
          pointBorderColor: colour,
          pointBorderWidth: 2,
          segment: {
            borderColor: function (ctx) { return partial[ctx.p1DataIndex] && !stacked ? "transparent" : undefined; },
            borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [4, 4] : reused; }
          }
        });
      } else {
        // The same period as a dashed segment to a small point.
        Object.assign(dataset, {
          pointRadius: function (ctx) { return partial[ctx.dataIndex] ? 3 : 0; },
          segment: {
            borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [5, 4] : reused; }
          }
        });
      }
      return dataset;
    });
  }

  function build(canvas, payload) {
    var spec = chartOf(payload, canvas.dataset.chart);
    if (!spec || typeof window.Chart === "undefined") return false;
    var look = {
      partial: canvas.dataset.partial,
      tooltipOrder: canvas.dataset.tooltipOrder,
      yTicks: Number(canvas.dataset.yTicks) || undefined
    };
    var fg = cssVar("--fg", "#1c1f24");
    var muted = cssVar("--muted", "#5d6470");
    var grid = cssVar("--border", "#dfe3ea");
    var stacked = Boolean(spec.share);
    var percent = stacked || spec.unit === "percent";
    var log = payload.options.scale === "log" && !stacked;
    var agg = payload.options.agg;
    var yTicks = {
      color: muted,
      callback: function (value) {
        if (percent) return Number(value).toLocaleString(undefined, { maximumSignificantDigits: 3 }) + "%";
        return Number(value).toLocaleString(undefined, { notation: "compact" });
      }
    };
    if (look.yTicks) Object.assign(yTicks, { autoSkip: true, autoSkipPadding: 10, maxTicksLimit: look.yTicks });
    var tooltip = {
      callbacks: {
        title: function (items) { return items.length ? periodTitle(payload, items[0].dataIndex) : ""; },
        label: function (item) { return " " + item.dataset.label + ": " + formatValue(item.raw, percent); }
      }
    };
    if (look.tooltipOrder === "value") tooltip.itemSort = function (a, b) { return (b.raw || 0) - (a.raw || 0); };
    var existing = charts.get(canvas);
    if (existing) existing.destroy();
    charts.set(canvas, new window.Chart(canvas, {
      type: "line",
      data: { labels: payload.periods.labels, datasets: datasetsOf(spec, payload.periods.partial, look) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        color: fg,
        plugins: {
          annotation: { annotations: markerAnnotations(payload) },
          legend: { position: "bottom", labels: { color: fg, boxWidth: 12, boxHeight: 12 } },
          tooltip: tooltip
        },
        scales: {
          x: {
            type: "time",
            time: { unit: agg === "month" ? "month" : agg === "week" ? "week" : undefined, tooltipFormat: "yyyy-MM-dd" },
            ticks: { color: muted, maxRotation: 0, autoSkip: true, autoSkipPadding: 12 },
            grid: { color: grid }
          },
          y: {
            type: log ? "logarithmic" : "linear",
            stacked: stacked,
            beginAtZero: !log,
            max: stacked ? 100 : undefined,
            ticks: yTicks,
            grid: { color: grid }
          }
        }
      }
    }));
    return true;
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
      if ((force || !charts.has(canvas)) && build(canvas, payload)) drawn++;
    });
    if (drawn) {
      // A counter the browser tests read to know the charts were (re)drawn.
      document.documentElement.dataset.chartsDrawn = String(Number(document.documentElement.dataset.chartsDrawn || 0) + 1);
    }
  }

  function foldTables() {
    // With JavaScript the charts show the data; the tables stay one click away. Each is
    // folded once, when it first appears: one the reader opened stays open.
    document.querySelectorAll("details.data-table:not([data-folded])").forEach(function (d) {
      d.removeAttribute("open");
      d.dataset.folded = "1";
    });
  }

  function start() { foldTables(); drawAll(false); }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // Only canvases that are new (a swapped-in partial) are drawn; others are left alone.
  document.addEventListener("htmx:afterSettle", start);
  document.addEventListener("htmx:historyRestore", function () { destroyAll(); foldTables(); drawAll(true); });
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
