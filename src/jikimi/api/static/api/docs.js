// Starts Swagger UI on the API documentation page (api/docs.html). A static file, not an
// inline script: the strict CSP allows scripts from this site only. The schema URL and the
// CSRF token come from the page's data- attributes.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  const csrfToken = root.dataset.csrfToken;
  window.jikimiApiDocs = window.SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    domNode: root,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No deep links: Swagger UI puts them as <a> inside the operation's <button> (nested controls).
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // No call to an outside validator (the CSP would refuse it, and the schema is ours).
    validatorUrl: null,
    // Plain example bodies: the highlighter's colours on its dark box are below 4.5:1.
    syntaxHighlight: { activated: false },
    // "Try it out" in a signed-in browser: the session cookie, plus the CSRF token Django
    // asks of every change.
    requestInterceptor: function (request) {
      const method = (request.method || "GET").toUpperCase();
      if (!["GET", "HEAD", "OPTIONS"].includes(method)) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();
