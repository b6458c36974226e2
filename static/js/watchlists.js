// Watchlist page behaviour that htmx attributes cannot express without eval (CSP).
(function () {
  "use strict";
  // Clear an add/paste form after htmx swapped in a successful answer.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-reset-on-success")) return;
    if (event.detail.successful) {
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
