// Floe console: live pages. A page whose #release (or any element with
// data-live) names a server-sent event stream reloads itself when the
// stream says the thing it shows has changed. No inline script anywhere:
// the Content-Security-Policy allows this file only.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var el = document.querySelector("[data-live]");
  if (!el || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var src = new EventSource(el.getAttribute("data-live"));
  src.addEventListener("open", function () { if (status) { status.textContent = "live"; } });
  src.addEventListener("changed", function () {
    src.close();
    window.location.replace(window.location.pathname);
  });
  src.addEventListener("failed", function (e) { if (status) { status.textContent = "live updates stopped: " + e.data; } });
});
