/* The package page's badge panel: a Copy button per badge, copying the snippet in the
   markup chosen above the list (Markdown, HTML or reStructuredText). Without JavaScript
   the buttons stay hidden and the snippets can be selected by hand. */
(function () {
  "use strict";
  function chosen() {
    var radio = document.querySelector("input[name=badge-format]:checked");
    return radio ? radio.value : "md";
  }
  function show() {
    document.querySelectorAll(".js-copy-badge").forEach(function (b) { b.hidden = false; });
  }
  function copy(button) {
    var code = document.getElementById("badge-" + chosen() + "-" + button.dataset.period);
    var status = button.parentNode.querySelector(".copy-status");
    if (!code) return;
    var text = code.textContent;
    function done(message) { if (status) status.textContent = message; }
    function fallback() {
      // No clipboard API (plain http): select the snippet for Ctrl+C.
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      done("Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copied."); }, fallback);
    } else {
      fallback();
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".js-copy-badge");
    if (button) { event.preventDefault(); copy(button); }
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
  else show();
})();
