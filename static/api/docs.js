// Starts Swagger UI (vendored from the swagger-ui-dist npm package, Apache-2.0) on the local schema.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-schema-url"),
    dom_id: "#swagger-ui",
    // No deep links: Swagger UI puts them as <a> inside the operation's toggle <button> (nested controls).
    deepLinking: false,
    persistAuthorization: false,
    requestInterceptor: function (request) {
      var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
      if (match) { request.headers["X-CSRFToken"] = decodeURIComponent(match[1]); }
      return request;
    },
  });
})();
