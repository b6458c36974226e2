/* What the package page (charts.js) and the compare page (compare.js) draw alike:
   theme colours from CSS variables, the Okabe-Ito series palette, tooltip titles for
   periods, and the data-quality markers (packages_app/quality.py) as
   chartjs-plugin-annotation annotations. Loaded (deferred) before either of them. */
(function () {
  "use strict";

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // --series-1..8: the Okabe-Ito palette (lighter in dark mode).
  function palette() {
    var colours = [];
    for (var i = 1; i <= 8; i++) colours.push(cssVar("--series-" + i, "#0072B2"));
    return colours;
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

  function withAlpha(hex, alpha) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    if (!m) return hex;
    return "rgba(" + parseInt(m[1], 16) + "," + parseInt(m[2], 16) + "," + parseInt(m[3], 16) + "," + alpha + ")";
  }

  // Data-quality markers (packages_app/quality.py) as chartjs-plugin-annotation
  // annotations: a dashed line for a single day, a shaded box for a range.
  function markerAnnotations(payload) {
    var result = {};
    var markers = payload.markers || [];
    var colour = cssVar("--muted", "#5d6470");
    markers.forEach(function (m, i) {
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

  window.PypistatsCharts = {
    cssVar: cssVar,
    palette: palette,
    periodTitle: periodTitle,
    withAlpha: withAlpha,
    markerAnnotations: markerAnnotations
  };
})();
