// Corral web console: live updates of the node page. Without this script
// the page still works (reload to see changes).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var path = live.getAttribute("data-path");
  var status = document.getElementById("live-status");
  var log = document.getElementById("changes");
  var source = new EventSource("/ui/events?path=" + encodeURIComponent(path));
  var pending = false;
  var broken = false;
  function say(text) { if (status) { status.textContent = text; } }
  function refresh() {
    if (pending) { return; }
    pending = true;
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.getElementById("view");
        var old = document.getElementById("view");
        if (fresh && old) { old.innerHTML = fresh.innerHTML; }
      })
      .catch(function () { say("refresh failed; reload the page"); })
      .then(function () { pending = false; });
  }
  source.addEventListener("hello", function () {
    say("live: watching " + path);
    // Back after a drop (a slow page loses its queue): catch up once.
    if (broken) { broken = false; refresh(); }
  });
  source.addEventListener("change", function (e) {
    var change = JSON.parse(e.data);
    if (log) {
      var item = document.createElement("li");
      item.textContent = change.type + " " + change.path + " (zxid 0x" + change.zxid.toString(16) + ")";
      log.insertBefore(item, log.firstChild);
      while (log.children.length > 20) { log.removeChild(log.lastChild); }
    }
    if (change.type === "NodeDeleted") {
      say("this node was deleted");
    } else {
      refresh();
    }
  });
  source.onerror = function () {
    broken = true;
    say("live updates interrupted; reconnecting");
  };
})();
