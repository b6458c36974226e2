/* Compare page: what it does besides its chart (static/js/charts.js draws that).
 *
 * htmx swaps #compare-body when an option changes. The share input always holds
 * location.href (after hx-push-url, back and forward), so copying it copies exactly
 * the address bar; the document title follows the comparison; the copy-link button
 * shows only with JavaScript; an invalid option's 400 answer is swapped in like any
 * other, so its message shows.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function syncPage() {
    // The address bar is the shareable link: keep the copy box and the title on it.
    var input = document.getElementById("share-link");
    if (input) input.value = window.location.href;
    var body = document.getElementById("compare-body");
    if (body && body.dataset.title) document.title = body.dataset.title;
    document.querySelectorAll(".js-copy-link").forEach(function (b) { b.hidden = false; });
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", syncPage);
  else syncPage();
  document.addEventListener("htmx:afterSettle", syncPage);
  document.addEventListener("htmx:pushedIntoHistory", syncPage);
  document.addEventListener("htmx:replacedInHistory", syncPage);
  document.addEventListener("htmx:historyRestore", syncPage);
  window.addEventListener("popstate", function () { window.setTimeout(syncPage, 0); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) syncPage(); });
})();
