// Adds a "Copy" button to each rendered code block (<div class="code-block">).
// Progressive enhancement: without JavaScript or the Clipboard API (which needs
// HTTPS or localhost) the code blocks simply stay as they are.
(function () {
  "use strict";

  if (!navigator.clipboard || !navigator.clipboard.writeText) return;

  var chinese = /^zh/i.test(document.documentElement.lang || "");
  var text = chinese
    ? { copy: "复制", label: "复制代码", copied: "已复制", failed: "复制失败" }
    : { copy: "Copy", label: "Copy code", copied: "Copied", failed: "Copy failed" };
  var status = null;

  // One polite live region tells screen-reader users what happened.
  function announce(message) {
    if (!status) {
      status = document.createElement("span");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  function addButton(block) {
    var code = block.querySelector("pre > code");
    if (!code || block.querySelector(".copy-code")) return;
    var button = document.createElement("button");
    var timer = null;
    button.type = "button";
    button.className = "copy-code";
    button.textContent = text.copy;
    button.setAttribute("aria-label", text.label);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent).then(
        function () { show(text.copied, "copied"); },
        function () { show(text.failed, "failed"); }
      );
    });
    function show(message, state) {
      button.textContent = message;
      button.setAttribute("data-state", state);
      announce(message);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        button.textContent = text.copy;
        button.removeAttribute("data-state");
      }, 2000);
    }
    block.appendChild(button);
  }

  function init() {
    var blocks = document.querySelectorAll(".code-block");
    for (var i = 0; i < blocks.length; i++) addButton(blocks[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
