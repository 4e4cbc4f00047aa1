// Keeps the post being edited in localStorage while typing, offers it back after a
// crash, a closed tab or an expired login, and forgets it once the post is saved.
(function () {
  "use strict";
  var PREFIX = "inkstone-backup:";
  var SUBMITTED = "inkstone-backup-submitted";
  var FIELDS = ["title", "body", "summary", "tag_names"];

  function storage(kind) {
    try { var s = window[kind]; s.setItem("__t", "1"); s.removeItem("__t"); return s; }
    catch (e) { return null; }
  }
  // Translated by the catalogue blog.admin.PostAdmin.Media loads first; English
  // without it.
  function gettext(text) { return window.gettext ? window.gettext(text) : text; }

  var local = storage("localStorage");
  var session = storage("sessionStorage");
  if (!local) return;

  document.addEventListener("DOMContentLoaded", function () {
    // After a successful save the admin shows a success message: drop the backup.
    var submittedKey = session && session.getItem(SUBMITTED);
    if (submittedKey && document.querySelector(".messagelist .success")) {
      local.removeItem(submittedKey);
      session.removeItem(SUBMITTED);
    }

    var form = document.getElementById("post_form");
    var body = document.getElementById("id_body");
    if (!form || !body) return;
    // Per account: the next person to sign in on this browser is not offered
    // another's unsaved text.
    var user = document.querySelector('meta[name="inkstone-user"]');
    if (!user) return;
    var key = PREFIX + user.content + ":" + window.location.pathname;

    function current() {
      var data = {};
      FIELDS.forEach(function (name) {
        var field = form.elements[name];
        if (field) data[name] = field.value;
      });
      return data;
    }

    var saved = null;
    try { saved = JSON.parse(local.getItem(key) || "null"); } catch (e) { saved = null; }
    var initial = current();
    if (saved && saved.fields && saved.fields.body !== initial.body) {
      offerRestore(saved);
    }

    var timer = null;
    function backup() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var data = current();
        if (data.body === initial.body && data.title === initial.title) return;
        try {
          local.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), fields: data }));
        } catch (e) { /* quota full: nothing to do */ }
      }, 400);
    }
    form.addEventListener("input", backup);
    form.addEventListener("submit", function () {
      var data = current();
      try {
        local.setItem(key, JSON.stringify({ savedAt: new Date().toISOString(), fields: data }));
      } catch (e) {}
      if (session) session.setItem(SUBMITTED, key);
    });

    function offerRestore(backupData) {
      var box = document.createElement("div");
      box.className = "editor-backup";
      box.setAttribute("role", "alert");
      var when = new Date(backupData.savedAt);
      var text = document.createElement("p");
      text.textContent = gettext(
        "An unsaved version of this post from %s was kept in this browser."
      ).replace("%s", when.toLocaleString());
      var restore = document.createElement("button");
      restore.type = "button";
      restore.className = "button editor-backup__restore";
      restore.textContent = gettext("Restore unsaved text");
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "button editor-backup__discard";
      discard.textContent = gettext("Discard it");
      restore.addEventListener("click", function () {
        FIELDS.forEach(function (name) {
          var field = form.elements[name];
          if (field && typeof backupData.fields[name] === "string") {
            field.value = backupData.fields[name];
            field.dispatchEvent(new Event("input", { bubbles: true }));
          }
        });
        box.remove();
      });
      discard.addEventListener("click", function () {
        local.removeItem(key);
        box.remove();
      });
      box.appendChild(text);
      box.appendChild(restore);
      box.appendChild(discard);
      form.parentNode.insertBefore(box, form);
    }
  });
})();
