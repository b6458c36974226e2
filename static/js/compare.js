/* Compare page: one Chart.js line chart over the JSON embedded with json_script
 * (the data-payload attribute of the canvas in the #compare-body partial: htmx drops
 * every <script> of a swapped partial, JSON ones included), plus the copy-link button.
 *
 * htmx swaps #compare-body when an option changes; this file (re)draws the chart
 * after each swap, after a history restore (canvases come back blank), on bfcache
 * return and when the OS switches light/dark. The share input always holds
 * location.href (after hx-push-url, back and forward), so copying it copies exactly
 * the address bar. Colours: CSS variables --series-1..8 (Okabe-Ito, lighter in dark
 * mode); packages 9 and 10 reuse colours 1 and 2 with a dashed line.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var chart = null;
  // Shared with the package page (static/js/chart_common.js, loaded first).
  var common = window.PypistatsCharts;
  var cssVar = common.cssVar;
  var periodTitle = common.periodTitle;

  function readPayload(canvas) {
    if (!canvas || !canvas.dataset.payload) return null;
    try { return JSON.parse(canvas.dataset.payload); } catch (e) { return null; }
  }

  function formatValue(payload, value) {
    if (value === null || value === undefined) return "no data";
    if (payload.unit === "percent") {
      return Number(value).toLocaleString(undefined, { maximumFractionDigits: 4 }) + "%";
    }
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 });
  }

  function destroy() {
    if (!chart) return;
    var canvas = chart.canvas;
    chart.destroy();
    chart = null;
    // Chart.js leaves a style attribute on the canvas; htmx's history snapshot would
    // carry it, and restoring it (innerHTML) is an inline style the CSP blocks.
    if (canvas) canvas.removeAttribute("style");
  }

  // The canvas has no id on purpose: htmx copies the attributes of same-id elements
  // across a swap, and Chart.js's inline canvas style would then break the CSP.
  function draw() {
    var canvas = document.querySelector("canvas[data-compare-chart]");
    var payload = readPayload(canvas);
    if (!canvas || !payload || typeof window.Chart === "undefined") { destroy(); return; }
    if (chart && chart.canvas === canvas) return;
    destroy();
    var colours = common.palette();
    var fg = cssVar("--fg", "#1c1f24");
    var muted = cssVar("--muted", "#5d6470");
    var grid = cssVar("--border", "#dfe3ea");
    var partial = payload.periods.partial;
    var log = payload.options.scale === "log";
    var datasets = payload.datasets.map(function (ds, index) {
      var colour = colours[index % colours.length];
      var reused = index >= colours.length;
      return {
        label: ds.label,
        data: ds.data,
        borderColor: colour,
        backgroundColor: colour,
        borderWidth: 2,
        borderDash: reused ? [6, 3] : undefined,
        pointRadius: function (ctx) { return partial[ctx.dataIndex] ? 3 : 0; },
        pointHoverRadius: 4,
        tension: 0,
        spanGaps: false,
        segment: {
          // The unfinished last period is dashed: its sum is not comparable yet.
          borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [5, 4] : (reused ? [6, 3] : undefined); }
        }
      };
    });
    var agg = payload.options.agg;
    chart = new window.Chart(canvas, {
      type: "line",
      data: { labels: payload.periods.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        color: fg,
        plugins: {
          // Known upstream events and suspect days (static/js/chart_common.js).
          annotation: { annotations: common.markerAnnotations(payload) },
          legend: { position: "bottom", labels: { color: fg, boxWidth: 12, boxHeight: 12 } },
          tooltip: {
            itemSort: function (a, b) { return (b.raw || 0) - (a.raw || 0); },
            callbacks: {
              title: function (items) { return items.length ? periodTitle(payload, items[0].dataIndex) : ""; },
              label: function (item) { return " " + item.dataset.label + ": " + formatValue(payload, item.raw); }
            }
          }
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
            beginAtZero: !log,
            ticks: {
              color: muted,
              // A log axis over a narrow span gets a tick per 1..9 step: keep it readable.
              autoSkip: true,
              autoSkipPadding: 10,
              maxTicksLimit: 8,
              callback: function (value) {
                if (payload.unit === "percent") return Number(value).toLocaleString(undefined, { maximumSignificantDigits: 3 }) + "%";
                return Number(value).toLocaleString(undefined, { notation: "compact" });
              }
            },
            grid: { color: grid }
          }
        }
      }
    });
    // A counter the browser tests read to know the chart was (re)drawn.
    document.documentElement.dataset.compareDrawn = String(Number(document.documentElement.dataset.compareDrawn || 0) + 1);
  }

  function syncPage() {
    // The address bar is the shareable link: keep the copy box and the title on it.
    var input = document.getElementById("share-link");
    if (input) input.value = window.location.href;
    var body = document.getElementById("compare-body");
    if (body && body.dataset.title) document.title = body.dataset.title;
    document.querySelectorAll(".js-copy-link").forEach(function (b) { b.hidden = false; });
    var table = document.querySelector("#compare-body details.data-table");
    if (table && !table.dataset.init) { table.dataset.init = "1"; table.removeAttribute("open"); }
  }

  function refresh(force) {
    if (force) destroy();
    syncPage();
    draw();
  }

  function copyLink(button) {
    var input = document.getElementById(button.dataset.target);
    if (!input) return;
    input.value = window.location.href;
    var status = button.parentNode.querySelector(".copy-status");
    function done(text) { if (status) status.textContent = text; }
    function fallback() {
      // No clipboard API (plain http, old browser): select the text for Ctrl+C.
      input.focus();
      input.select();
      var ok = false;
      try { ok = document.execCommand && document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok ? "Copied." : "Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done("Copied."); }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-copy-link");
    if (button) { event.preventDefault(); copyLink(button); }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target && event.target.id === "share-link") event.target.select();
  });

  // Option changes come back as 400 with the page's message when invalid: show them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 400 && event.detail.target && event.detail.target.id === "compare-body") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { refresh(false); });
  else refresh(false);
  document.addEventListener("htmx:afterSettle", function () { refresh(false); });
  document.addEventListener("htmx:pushedIntoHistory", syncPage);
  document.addEventListener("htmx:replacedInHistory", syncPage);
  document.addEventListener("htmx:historyRestore", function () { refresh(true); });
  document.addEventListener("htmx:beforeHistorySave", destroy);
  window.addEventListener("popstate", function () { window.setTimeout(syncPage, 0); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) refresh(true); });
  if (window.matchMedia) {
    var media = window.matchMedia("(prefers-color-scheme: dark)");
    if (media.addEventListener) media.addEventListener("change", function () { refresh(true); });
  }
})();
