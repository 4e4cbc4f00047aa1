// Uploads images dropped or pasted into a markdownx editor, in place of markdownx.js:
// when the server refuses a file, markdownx.js types "Invalid response" into the
// post and shows nothing. This leaves the text alone and shows the server's reason.
// The editor's "Insert image…" button (blog.forms.PostBodyWidget) goes the same way,
// for phones and tablets, which can neither drag nor paste a file.
(function () {
  "use strict";

  function gettext(text) { return window.gettext ? window.gettext(text) : text; }

  function csrfToken(editor) {
    var input = editor.form && editor.form.querySelector("[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function showErrors(editor, messages) {
    // Where the admin shows a field's own errors: above its label and input.
    var field = editor.closest(".flex-container") || editor.closest(".markdownx");
    var list = field.previousElementSibling;
    if (!list || !list.classList.contains("markdownx-upload-errors")) {
      list = document.createElement("ul");
      list.className = "errorlist markdownx-upload-errors";
      list.setAttribute("role", "alert");
      field.before(list);
    }
    list.replaceChildren();
    messages.forEach(function (message) {
      var item = document.createElement("li");
      item.textContent = message;
      list.append(item);
    });
    list.hidden = messages.length === 0;
  }

  async function upload(editor, file) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrfToken(editor));
    data.append("image", file);
    var response;
    try {
      response = await fetch(editor.dataset.markdownxUploadUrlsPath, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" },
      });
    } catch (error) {
      throw new Error(gettext("the server could not be reached. Nothing was inserted."));
    }
    var body = null;
    if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
      body = await response.json().catch(function () { return null; });
    }
    if (response.ok && body && body.image_code) return body.image_code;
    if (body && body.error) throw new Error(body.error);
    if (response.redirected || response.status === 403) {
      throw new Error(
        gettext("your session has expired. Log in again in another tab, then retry.")
      );
    }
    if (response.status === 413) {
      throw new Error(gettext("the file is too large for the server."));
    }
    throw new Error(
      gettext("the server answered %s. Nothing was inserted.").replace("%s", response.status)
    );
  }

  async function uploadAll(editor, files) {
    var errors = [];
    showErrors(editor, errors);
    editor.style.opacity = "0.5";
    editor.setAttribute("aria-busy", "true");
    for (var file of files) {
      try {
        var code = await upload(editor, file);
        var at = editor.selectionEnd;
        // Still the alt text selected after the last insert: this image goes after
        // that one, not inside its brackets.
        var last = editor.inkstoneLastImage;
        if (last && editor.selectionStart === last.altStart && at === last.altEnd) {
          at = last.end;
        }
        editor.setRangeText(code, at, at, "end");
        editor.dispatchEvent(new Event("input", { bubbles: true }));
        editor.inkstoneLastImage = null;
        // Select the suggested alt text (the file name) so the author replaces it
        // with a description; saving refuses images without one.
        var altEnd = code.indexOf("](");
        if (code.startsWith("![") && altEnd > 1 && files.length === 1) {
          editor.focus();
          editor.setSelectionRange(at + 2, at + altEnd);
          editor.inkstoneLastImage = {
            altStart: at + 2,
            altEnd: at + altEnd,
            end: at + code.length,
          };
        }
      } catch (error) {
        errors.push(
          gettext("%(file)s: %(reason)s")
            .replace("%(file)s", file.name || gettext("Image"))
            .replace("%(reason)s", error.message)
        );
        showErrors(editor, errors);
      }
    }
    editor.style.opacity = "";
    editor.removeAttribute("aria-busy");
  }

  function intercept(event) {
    var editor = event.target;
    var transfer = event.type === "drop" ? event.dataTransfer : event.clipboardData;
    if (!editor.matches || !editor.matches(".markdownx .markdownx-editor")) return;
    if (!transfer || !transfer.files.length) return;
    // Capturing at the document stops the event before markdownx.js sees it.
    event.preventDefault();
    event.stopImmediatePropagation();
    uploadAll(editor, Array.from(transfer.files));
  }

  function enableButton(bar) {
    var editor = bar.closest(".markdownx").querySelector(".markdownx-editor");
    var input = bar.querySelector("input[type=file]");
    var caretPlaced = false;
    editor.addEventListener("focus", function () { caretPlaced = true; });
    bar.querySelector("button").addEventListener("click", function () { input.click(); });
    input.addEventListener("change", function () {
      var files = Array.from(input.files);
      input.value = "";
      if (!files.length) return;
      // Where the author left the caret, or else at the end rather than the top.
      if (!caretPlaced) editor.setSelectionRange(editor.value.length, editor.value.length);
      uploadAll(editor, files);
    });
    bar.hidden = false;
  }

  document.addEventListener("drop", intercept, true);
  document.addEventListener("paste", intercept, true);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".markdownx .markdownx-upload").forEach(enableButton);
  });
})();
