// Watchlist page behaviour that htmx attributes cannot express without eval (CSP).
(function () {
  "use strict";
  // htmx "settles" class/style/width/height from old to new elements with the same id.
  // Browsers and autofill extensions leave style="" on inputs, and copying that is an
  // inline style the CSP (style-src 'self') blocks and reports. Nothing here uses
  // inline styles, so do not settle them.
  if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];
  // A refused action (400) still answers with the table and the reason: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 400 && target && target.id === "watchlist-table") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // Clear an add/paste form after an accepted answer; keep the text when refused, to fix it.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-reset-on-success")) return;
    if (event.detail.xhr.status < 300) {
      form.reset();
      var suggestions = document.getElementById("suggestions");
      if (suggestions) { suggestions.innerHTML = ""; suggestions.classList.add("empty"); }
    }
  });
  // Select a shared/invitation link on focus, so it is one keystroke to copy.
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el instanceof HTMLInputElement && el.readOnly && el.classList.contains("wide")) el.select();
  });
})();
