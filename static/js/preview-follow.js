// Scrolls the editor's sticky preview along with the page: as the window moves
// through the Markdown, the preview moves through the same share of the post.
(function () {
  "use strict";

  function follow(editor, preview) {
    if (getComputedStyle(preview).position !== "sticky") return;
    var box = editor.getBoundingClientRect();
    var travel = box.height - window.innerHeight;
    if (travel <= 0) return;
    var share = Math.min(Math.max(-box.top / travel, 0), 1);
    preview.scrollTop = share * (preview.scrollHeight - preview.clientHeight);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.querySelector(".markdownx-editor");
    var preview = document.querySelector(".markdownx-preview");
    if (!editor || !preview) return;
    var queued = false;
    function schedule() {
      if (queued) return;
      queued = true;
      window.requestAnimationFrame(function () {
        queued = false;
        follow(editor, preview);
      });
    }
    window.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", schedule);
    // A new preview replaces the old one's content and height.
    new MutationObserver(schedule).observe(preview, { childList: true });
  });
})();
