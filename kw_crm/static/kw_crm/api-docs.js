// Renders the CRM's OpenAPI document with the vendored Swagger UI. "Try it out" uses the admin's
// session, so state-changing calls carry the page's CSRF token like every other CRM form.
(function () {
  var root = document.getElementById("api-docs");
  var csrf = root.getAttribute("data-csrf-token");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (request) {
      if (request.method && request.method.toUpperCase() !== "GET" && csrf) {
        request.headers["X-CSRFToken"] = csrf;
      }
      return request;
    },
  });
})();
