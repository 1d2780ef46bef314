// Refresh the alert board's rows every few seconds (same-origin fetch; CSP connect-src 'self').
(function () {
  var table = document.getElementById("alert-board");
  if (!table) { return; }
  var rows = document.getElementById("alert-rows");
  var url = table.dataset.refresh;
  var every = parseInt(table.dataset.interval, 10) || 5000;
  setInterval(function () {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        rows.innerHTML = html;
        // A count of swaps, so a page (or a test) can tell that the new rows are in.
        table.dataset.refreshed = String((parseInt(table.dataset.refreshed, 10) || 0) + 1);
      })
      .catch(function () { /* keep the last rows; the next tick retries */ });
  }, every);
})();
