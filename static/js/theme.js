// Loaded synchronously in <head> so the saved theme applies before first paint.
(function () {
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("inkstone-theme"); } catch (e) {}
  if (saved === "light" || saved === "dark") root.setAttribute("data-theme", saved);

  function current() {
    var explicit = root.getAttribute("data-theme");
    if (explicit) return explicit;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".theme-toggle");
    if (!button) return;
    button.hidden = false;
    function sync() { button.setAttribute("aria-pressed", String(current() === "dark")); }
    sync();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem("inkstone-theme", next); } catch (e) {}
      sync();
    });
  });
})();
