/* The chart module of every chart page (the package page and the compare page):
 * Chart.js 4 over the payload the page hands over with json_script.
 *
 * The server sends each chart's numbers once: in its data table (<table
 * data-chart-table="ID">, pages/chart.py data_table: shown without JavaScript, folded
 * with it) or, for a table fetched when it is first opened (the package page's charts
 * below the first), in the payload's datasets; the rest (periods, options, labels,
 * markers) in <script id="chart-data" type="application/json"> (pages/chart.py
 * data_script), both inside the partial htmx swaps; this file only reads and draws them. Every <canvas data-chart="ID"> is one chart: ID names one of the payload's
 * `charts` (the package page), or the payload is itself the one chart (the compare
 * page: its `datasets` and `unit` at the top). A canvas with data-payload="ID" reads the
 * payload from that json_script element instead (a section loaded on its own: the package
 * page's versions, installers and countries).
 *
 * What a canvas may say about how it looks:
 *   data-tooltip-order="value" the tooltip lists the lines biggest first (default: the
 *                              legend's order).
 * Drawn the same on every page: the unfinished last period (periods.partial) is a hollow
 * point reached by a dashed segment, over a shaded band labelled "partial" (its sum is
 * not comparable with whole periods yet); y ticks are chosen here (yTickValues: 1-2-5
 * steps on a log axis, never more than fit) and labelled with just enough digits that
 * no two read alike (tickFormatter); the x axis gets fewer, shorter labels on a narrow
 * canvas.
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
 * After an htmx swap, focus goes back to the new copy of the control that was used.
 */
(function () {
  "use strict";
  var DATA_ID = "chart-data";
  var charts = new Map();
  // Chart.js, its date adapter and the annotation plugin, loaded by loadLibraries.
  var LIBRARIES = ((document.currentScript && document.currentScript.dataset.libraries) || "").split(/\s+/).filter(Boolean);
  var libraries = null; // null: not asked for; "loading"; "ready"; "failed"

  // Inserted scripts with async = false run in the order inserted, and, not being parser
  // scripts, do not hold DOMContentLoaded back. `done` runs once all have loaded.
  function loadLibraries(done) {
    if (typeof window.Chart !== "undefined" || !LIBRARIES.length) { libraries = "ready"; done(); return; }
    if (libraries) return;
    libraries = "loading";
    var left = LIBRARIES.length;
    LIBRARIES.forEach(function (src) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false;
      script.onload = function () { if (--left === 0) { libraries = "ready"; done(); } };
      script.onerror = function () {
        // No charts after all: unfold the tables again, they hold the same numbers.
        libraries = "failed";
        document.querySelectorAll("details.data-table").forEach(function (d) { d.setAttribute("open", ""); });
      };
      document.head.appendChild(script);
    });
  }

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

  function readPayload(id) {
    var node = document.getElementById(id || DATA_ID);
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

  // A chart's numbers, read from its data table (<table data-chart-table="ID">): the page
  // holds them once, there, and the JSON payload holds everything else. One column per
  // dataset after the period column; "12,345", "1,234.5", "12.3%"; "—" is no data.
  function numbersOf(id, count) {
    var table = document.querySelector('table[data-chart-table="' + id + '"]');
    if (!table) return null;
    var columns = [];
    for (var c = 0; c < count; c++) columns.push([]);
    table.querySelectorAll("tbody tr").forEach(function (row) {
      for (var c = 0; c < count; c++) {
        var cellNode = row.cells[c + 1];
        var text = cellNode ? cellNode.textContent.replace(/[,%\s]/g, "") : "";
        var value = parseFloat(text);
        columns[c].push(isNaN(value) ? null : value);
      }
    });
    return columns;
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
    // A share of all PyPI may be 0.00003 %: significant digits, not decimals, keep it.
    if (percent) return Number(value).toLocaleString(undefined, { maximumSignificantDigits: 4 }) + "%";
    return Number(value).toLocaleString(undefined, { maximumFractionDigits: 1 });
  }

  // --- y ticks ----------------------------------------------------------------------------

  // A "nice" step (1, 2 or 5 times a power of ten) near `span / count`.
  function niceStep(span, count) {
    var raw = span / Math.max(count, 1);
    var power = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / power;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * power;
  }

  // The tick values of a log axis over [min, max]: 1-2-5 per decade, thinned to whole
  // decades (then every other one) when they would not fit `most`; over a span narrower
  // than that (a package steady around 550K), evenly spaced nice values instead. Chart.js's
  // own log ticks put one per 1..9 step, whose labels overlap and, rounded, repeat.
  function yTickValues(min, max, most) {
    if (!(min > 0) || !(max > min)) return null;
    var lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
    function within(mantissas, every) {
      var out = [];
      for (var e = lo; e <= hi; e++) {
        if ((e - lo) % every) continue;
        mantissas.forEach(function (m) {
          var v = m * Math.pow(10, e);
          if (v >= min * 0.999999 && v <= max * 1.000001) out.push(v);
        });
      }
      return out;
    }
    var candidates = [within([1, 2, 5], 1), within([1], 1), within([1], 2), within([1], 3)];
    for (var i = 0; i < candidates.length; i++) {
      if (candidates[i].length >= 3 && candidates[i].length <= most) return candidates[i];
    }
    if (candidates[0].length > most) return candidates[3];
    var step = niceStep(max - min, Math.min(4, most - 1));
    var values = [];
    for (var v = Math.ceil(min / step) * step; v <= max * 1.000001; v += step) values.push(v);
    return values;
  }

  // Labels for a set of tick values: compact ("1.2M"), with the fewest significant digits
  // that keep every label distinct (25M and 25.4M must not both read "25M").
  function tickFormatter(values, percent) {
    var labels = null;
    for (var digits = 2; digits <= 8; digits++) {
      labels = values.map(function (v) {
        return percent
          ? Number(v).toLocaleString(undefined, { maximumSignificantDigits: digits }) + "%"
          : Number(v).toLocaleString(undefined, { notation: "compact", maximumSignificantDigits: digits });
      });
      if (new Set(labels).size === labels.length) break;
    }
    return labels;
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
      if (m.kind === "boundary") {
        // Where ClickHouse's days end and upstream's begin (packages_app/pages/package.py):
        // a solid line, always labelled, so the join of the two sources is never hidden.
        label.display = true;
        label.content = ["ClickHouse | PyPI Stats API"];
        label.position = "start";
        result["marker" + i] = Object.assign({ type: "line", xMin: m.start, xMax: m.start }, common, {
          borderWidth: 2,
          enter: function (ctx) { ctx.element.label.options.content = [m.label]; return true; },
          leave: function (ctx) { ctx.element.label.options.content = ["ClickHouse | PyPI Stats API"]; return true; }
        });
      } else if (m.start === m.end) {
        result["marker" + i] = Object.assign({ type: "line", xMin: m.start, xMax: m.start, borderDash: [4, 3] }, common);
      } else {
        result["marker" + i] = Object.assign({ type: "box", xMin: m.start, xMax: m.end, backgroundColor: withAlpha(colour.charAt(0) === "#" ? colour : "#5d6470", 0.12) }, common);
      }
    });
    return result;
  }

  function datasetsOf(spec, partial) {
    var colours = palette();
    var card = cssVar("--card", "#ffffff");
    var stacked = Boolean(spec.share);
    return spec.datasets.map(function (ds, index) {
      var colour = colours[index % colours.length];
      var reused = index >= colours.length ? [6, 3] : undefined;
      return {
        label: ds.label,
        data: ds.data,
        borderColor: colour,
        backgroundColor: stacked ? withAlpha(colour, 0.55) : colour,
        fill: stacked ? (index === 0 ? "origin" : "-1") : false,
        borderWidth: stacked ? 1 : 2,
        borderDash: reused,
        pointHoverRadius: 4,
        tension: 0,
        spanGaps: false,
        // The unfinished period, one way on every page: a hollow point reached by a
        // dashed segment (the band behind it, partialBand, says "partial").
        pointRadius: function (ctx) { return partial[ctx.dataIndex] ? 4 : 0; },
        pointBackgroundColor: function (ctx) { return partial[ctx.dataIndex] ? card : colour; },
        pointBorderColor: colour,
        pointBorderWidth: 2,
        segment: {
          borderDash: function (ctx) { return partial[ctx.p1DataIndex] ? [4, 4] : reused; }
        }
      };
    });
  }

  // A shaded band over the dashed segment that leads to the unfinished period, labelled,
  // so "partial" reads without hovering. (Points sit at their period's start, so the
  // period itself would be a zero-width band at the axis end.) Daily charts have none.
  function partialBand(payload) {
    var periods = payload.periods;
    var first = periods.partial.indexOf(true);
    if (first < 0) return {};
    return {
      partial: {
        type: "box",
        xMin: periods.labels[Math.max(first - 1, 0)],
        xMax: periods.labels[periods.labels.length - 1],
        backgroundColor: withAlpha(cssVar("--muted", "#5d6470"), 0.12),
        borderWidth: 0,
        label: {
          display: true,
          content: "partial",
          position: { x: "end", y: "start" },
          color: cssVar("--muted", "#5d6470"),
          font: { size: 11 }
        }
      }
    };
  }

  function build(canvas, payload) {
    var spec = chartOf(payload, canvas.dataset.chart);
    if (!spec || typeof window.Chart === "undefined") return false;
    // A chart whose table is fetched on demand (the package page's below the first) has
    // its numbers in the payload; the others', in their table.
    var inPayload = spec.datasets.length && spec.datasets.every(function (ds) { return Array.isArray(ds.data); });
    var numbers = inPayload ? spec.datasets.map(function (ds) { return ds.data; })
      : numbersOf(canvas.dataset.chart, spec.datasets.length);
    if (!numbers) return false;
    spec = Object.assign({}, spec, {
      datasets: spec.datasets.map(function (ds, i) { return Object.assign({}, ds, { data: numbers[i] }); })
    });
    var fg = cssVar("--fg", "#1c1f24");
    var muted = cssVar("--muted", "#5d6470");
    var grid = cssVar("--border", "#dfe3ea");
    var stacked = Boolean(spec.share);
    var percent = stacked || spec.unit === "percent";
    var log = payload.options.scale === "log" && !stacked;
    var agg = payload.options.agg;
    // Ticks of a long window name years, not days: "Jul 29" on a chart of eight years
    // reads as one summer (ClickHouse's history reaches back to 2016).
    var spanDays = (payload.window && payload.window.days) || 0;
    var axisUnit = spanDays > 3 * 365 ? "year" : spanDays > 550 ? "quarter"
      : agg === "month" ? "month" : agg === "week" ? "week" : undefined;
    var narrow = (canvas.parentNode && canvas.parentNode.clientWidth || 600) < 480;
    var labels = [];
    var yAxis = {
      type: log ? "logarithmic" : "linear",
      stacked: stacked,
      beginAtZero: !log,
      max: stacked ? 100 : undefined,
      grid: { color: grid },
      ticks: {
        color: muted,
        maxTicksLimit: narrow ? 6 : 8,
        callback: function (value, index) { return labels[index]; }
      },
      afterDataLimits: function (scale) {
        // A log axis over two decades or more runs from decade to decade, so its top and
        // bottom lines are labelled too (not data running past the last tick).
        if (log && scale.min > 0 && scale.max / scale.min >= 100) {
          scale.min = Math.pow(10, Math.floor(Math.log10(scale.min)));
          scale.max = Math.pow(10, Math.ceil(Math.log10(scale.max)));
        }
      },
      afterBuildTicks: function (scale) {
        if (log) {
          var values = yTickValues(scale.min, scale.max, narrow ? 6 : 8);
          if (values) scale.ticks = values.map(function (v) { return { value: v, major: false }; });
        }
        labels = tickFormatter(scale.ticks.map(function (t) { return t.value; }), percent);
      }
    };
    var tooltip = {
      callbacks: {
        title: function (items) { return items.length ? periodTitle(payload, items[0].dataIndex) : ""; },
        label: function (item) { return " " + item.dataset.label + ": " + formatValue(item.raw, percent); }
      }
    };
    if (canvas.dataset.tooltipOrder === "value") tooltip.itemSort = function (a, b) { return (b.raw || 0) - (a.raw || 0); };
    var existing = charts.get(canvas);
    if (existing) existing.destroy();
    charts.set(canvas, new window.Chart(canvas, {
      type: "line",
      data: { labels: payload.periods.labels, datasets: datasetsOf(spec, payload.periods.partial) },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        color: fg,
        plugins: {
          annotation: { annotations: Object.assign(partialBand(payload), markerAnnotations(payload)) },
          legend: { position: "bottom", labels: { color: fg, boxWidth: 12, boxHeight: 12 } },
          tooltip: tooltip
        },
        scales: {
          x: {
            type: "time",
            time: {
              unit: axisUnit,
              tooltipFormat: "yyyy-MM-dd",
              // Short labels: "Mar 2025" and "Mar 3, 2025" do not fit side by side on a phone.
              displayFormats: { day: "MMM d", week: "MMM d", month: narrow ? "MMM yy" : "MMM yyyy", quarter: "MMM yy", year: "yyyy" }
            },
            ticks: { color: muted, maxRotation: 0, autoSkip: true, autoSkipPadding: narrow ? 24 : 16, maxTicksLimit: narrow ? 4 : 10 },
            grid: { color: grid }
          },
          y: yAxis
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
    // A canvas reads the page's payload, or the one its data-payload names (a section
    // loaded on its own, e.g. the package page's breakdowns): each is parsed once.
    var payloads = {};
    var drawn = 0;
    canvases.forEach(function (canvas) {
      if (!force && charts.has(canvas)) return;
      var id = canvas.dataset.payload || DATA_ID;
      if (!(id in payloads)) payloads[id] = readPayload(id);
      if (payloads[id] && build(canvas, payloads[id])) drawn++;
    });
    if (drawn) {
      // A counter the browser tests read to know the charts were (re)drawn.
      document.documentElement.dataset.chartsDrawn = String(Number(document.documentElement.dataset.chartsDrawn || 0) + 1);
      // And when the first drawing ended (bench/package_page_load.py records it).
      if (!window.__chartsFirstDrawn && window.performance) window.__chartsFirstDrawn = performance.now();
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

  // First load: fold the tables at once (before the first paint); load Chart.js and draw
  // in a task of its own after DOMContentLoaded. A deferred script runs before
  // DOMContentLoaded fires, so parsing Chart.js and drawing five charts there made the
  // document wait for them before it counted as ready (htmx waited too). The load event
  // is the backstop for a script that arrives after DOMContentLoaded; the libraries load
  // once and drawAll draws each canvas once.
  function begin() { foldTables(); loadLibraries(start); }
  if (document.readyState !== "loading") foldTables();
  if (document.readyState === "complete") begin();
  else {
    document.addEventListener("DOMContentLoaded", function () { foldTables(); setTimeout(begin, 0); });
    window.addEventListener("load", begin);
  }

  // Only canvases that are new (a swapped-in partial) are drawn; others are left alone.
  document.addEventListener("htmx:afterSettle", start);
  document.addEventListener("htmx:historyRestore", function () { destroyAll(); foldTables(); drawAll(true); });
  document.addEventListener("htmx:beforeHistorySave", function () {
    destroyAll();
    // htmx restores its snapshot as markup: any style attribute in it (Chart.js sizing, an
    // empty one the browser leaves on inputs) would be an inline style the CSP refuses.
    document.body.querySelectorAll("[style]").forEach(function (el) { el.removeAttribute("style"); });
  });
  // Focus after a swap: htmx replaces the controls with new copies, and focus would fall
  // back to <body>, sending a keyboard user to the top of the page. Remember what had the
  // focus when the request left and focus its new copy once the swap settles: by id, by
  // form field name, or by its control group and label.
  var focusBack = null;
  function describeFocus() {
    var el = document.activeElement;
    if (!el || el === document.body) return null;
    var group = el.closest && el.closest("[data-control]");
    // Several sections may have the same controls (the breakdowns): remember whose.
    var scope = el.closest && el.closest("section[id]");
    if (el.id) return { id: el.id };
    if (group) return { control: group.dataset.control, label: el.textContent.trim(), scope: scope ? scope.id : null };
    if (el.name && el.form) return { name: el.name, type: el.type };
    return null;
  }
  function refocus(memo) {
    var target = null;
    if (memo.id) target = document.getElementById(memo.id);
    else if (memo.control) {
      var root = (memo.scope && document.getElementById(memo.scope)) || document;
      var links = root.querySelectorAll('[data-control="' + memo.control + '"] > *');
      for (var i = 0; i < links.length && !target; i++) {
        if (links[i].textContent.trim() === memo.label) target = links[i];
      }
    } else if (memo.name) {
      target = document.querySelector('[name="' + memo.name + '"][type="' + memo.type + '"]') || document.querySelector('[name="' + memo.name + '"]');
    }
    // A control that became disabled (a span) cannot take focus: its group's current link can.
    if (target && target.tagName === "SPAN" && memo.control) target = ((memo.scope && document.getElementById(memo.scope)) || document).querySelector('[data-control="' + memo.control + '"] [aria-current="true"]');
    if (target && document.activeElement !== target) target.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:beforeRequest", function () { focusBack = describeFocus(); });
  document.addEventListener("htmx:afterSettle", function () {
    if (focusBack && (document.activeElement === document.body || !document.activeElement)) refocus(focusBack);
    focusBack = null;
  });
  document.addEventListener("htmx:historyRestore", function () { focusBack = null; });

  // A table fetched on demand (<details hx-get hx-trigger="table-open once">, the package
  // page's charts below the first): opening it the first time tells htmx to fetch it.
  // "toggle" does not bubble, hence the capture; folding a table fires it too, closed.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.tagName === "DETAILS" && details.open && details.hasAttribute("hx-get") && window.htmx) {
      window.htmx.trigger(details, "table-open");
    }
  }, true);

  window.addEventListener("pageshow", function (event) { if (event.persisted) drawAll(true); });
  if (window.matchMedia) {
    var media = window.matchMedia("(prefers-color-scheme: dark)");
    if (media.addEventListener) media.addEventListener("change", function () { drawAll(true); });
  }
})();
