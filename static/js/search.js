/* Search suggestions: htmx fetches them as you type (hx-get on the input); this keeps one
   of them highlighted (the first, until the arrows move it), takes the highlighted one
   on Enter, and closes the list on Escape or a click elsewhere. */
(function () {
  "use strict";
  function lists() { return document.querySelectorAll(".suggestions-pop"); }
  function clear(pop) { pop.replaceChildren(); }
  function links(pop) { return Array.prototype.slice.call(pop.querySelectorAll("a")); }
  function highlight(pop, link) {
    links(pop).forEach(function (a) {
      var on = a === link;
      a.classList.toggle("active", on);
      var option = a.closest("[role=option]");
      if (option) option.setAttribute("aria-selected", on ? "true" : "false");
    });
  }
  // Fresh suggestions: the first one is the one Enter takes.
  document.addEventListener("htmx:afterSwap", function (event) {
    var pop = event.detail.target;
    if (!(pop instanceof Element) || !pop.classList.contains("suggestions-pop")) return;
    var all = links(pop);
    highlight(pop, all.length ? all[0] : null);
  });
  document.addEventListener("keydown", function (event) {
    var box = event.target.closest && event.target.closest(".search-box");
    if (!box) return;
    var pop = box.querySelector(".suggestions-pop");
    if (!pop) return;
    if (event.key === "Escape") { clear(pop); return; }
    if (event.key === "Enter" && event.target.matches("input[type=search]")) {
      // Typing "fla" then Enter means the highlighted "flask", not the literal "fla".
      var active = pop.querySelector("a.active");
      if (active) { event.preventDefault(); active.click(); clear(pop); }
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var all = links(pop);
    if (!all.length) return;
    event.preventDefault();
    var index = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown") index = index < all.length - 1 ? index + 1 : 0;
    else if (index <= 0) { highlight(pop, all[0]); box.querySelector("input[type=search]").focus(); return; }
    else index -= 1;
    highlight(pop, all[index]);
    all[index].focus();
  });
  document.addEventListener("click", function (event) {
    lists().forEach(function (pop) {
      if (!pop.closest(".search-box").contains(event.target)) clear(pop);
    });
  });
})();
