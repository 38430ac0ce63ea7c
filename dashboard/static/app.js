// LayanWarga dashboard: small progressive enhancements (the pages work without JavaScript).
(function () {
  "use strict";
  var link = document.getElementById("nav-live");
  var badge = document.getElementById("live-badge");
  if (!link || !badge) { return; }
  function refresh() {
    fetch(link.getAttribute("data-summary"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var count = data.unread || data.waiting || 0;
        badge.textContent = String(count);
        badge.hidden = count === 0;
      })
      .catch(function () { /* offline for a moment: try again later */ });
  }
  refresh();
  setInterval(refresh, 10000);
})();
