// Award run page: poll the run's progress (same origin, the session cookie) and reload when it has finished.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  if (box.getAttribute("data-status") === "succeeded" || box.getAttribute("data-status") === "failed") { return; }
  function show(field, value) {
    var el = box.querySelector('[data-field="' + field + '"]');
    if (el && value !== null && value !== undefined) { el.textContent = String(value); }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var last = data.progress.length ? data.progress[data.progress.length - 1] : null;
        var best = data.objective !== null ? data.objective : last && last.objective;
        var ceiling = data.bound !== null ? data.bound : last && last.bound;
        show("objective", best);
        show("bound", ceiling);
        if (best !== null && best !== undefined && ceiling) {
          var pct = Math.max(0, Math.min(100, Math.round(best / ceiling * 100)));
          var bar = box.querySelector('[data-field="bar"]');
          if (bar) { bar.value = pct; }
          show("pct", pct + "%");
        }
        if (data.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
