/* Search suggestions: htmx fetches them as you type (hx-get on the input); this only
   closes the list on Escape or a click elsewhere, and moves through it with the arrows. */
(function () {
  "use strict";
  function lists() { return document.querySelectorAll(".suggestions-pop"); }
  function clear(pop) { pop.replaceChildren(); }
  document.addEventListener("keydown", function (event) {
    var box = event.target.closest && event.target.closest(".search-box");
    if (!box) return;
    var pop = box.querySelector(".suggestions-pop");
    if (!pop) return;
    if (event.key === "Escape") { clear(pop); return; }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var links = Array.prototype.slice.call(pop.querySelectorAll("a"));
    if (!links.length) return;
    event.preventDefault();
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown") index = index < links.length - 1 ? index + 1 : 0;
    else if (index <= 0) { box.querySelector("input[type=search]").focus(); return; }
    else index -= 1;
    links[index].focus();
  });
  document.addEventListener("click", function (event) {
    lists().forEach(function (pop) {
      if (!pop.closest(".search-box").contains(event.target)) clear(pop);
    });
  });
})();
