// Sends the browser's time zone once, while the person has none set (the body carries
// data-time-zone-unset and the CSRF token then). The server never overrides a zone already chosen.
(function () {
  "use strict";
  var body = document.body;
  if (!body || body.dataset.timeZoneUnset === undefined || !window.fetch) return;
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (!zone) return;
  var data = new URLSearchParams({ time_zone: zone, source: "browser" });
  fetch(body.dataset.timeZoneUrl, {
    method: "POST", credentials: "same-origin", body: data,
    headers: { "X-CSRFToken": body.dataset.csrfToken },
  }).catch(function () {});  // pages show local times from the next one on
})();
