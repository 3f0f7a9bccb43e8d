// Renders the CRM's OpenAPI document with the vendored Swagger UI. The 1.7 MB bundle is fetched
// after the page has loaded, so the page itself is quick; "Try it out" uses the admin's session,
// so state-changing calls carry the page's CSRF token like every other CRM form.
(function () {
  var root = document.getElementById("api-docs");
  var csrf = root.getAttribute("data-csrf-token");

  function render() {
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
  }

  function load() {
    var script = document.createElement("script");
    script.src = root.getAttribute("data-bundle-url");
    script.onload = render;
    document.body.appendChild(script);
  }

  if (document.readyState === "complete") { load(); } else { window.addEventListener("load", load); }
})();
