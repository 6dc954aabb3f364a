"use strict";
// Swagger UI's cookie path: unsafe requests carry X-CSRFToken from the csrftoken cookie.
//
// With withCredentials Swagger UI sends credentials "include", and drf-spectacular's request
// interceptor adds the CSRF header only for "same-origin" (and with the token of the page as it
// was rendered, which signing in replaces). Loaded after swagger-ui-bundle.js and before
// drf-spectacular's init script, this wraps SwaggerUIBundle so that whatever interceptor the
// page configures runs first, then the header is set from the cookie as it is now, for the
// server's own origin only.
(function () {
  const SAFE = ["GET", "HEAD", "OPTIONS", "TRACE"];
  const script = document.currentScript;
  const cookieName = (script && script.dataset.cookie) || "csrftoken";
  const headerName = (script && script.dataset.header) || "X-CSRFToken";

  const readCookie = (name) => {
    for (const part of document.cookie.split(";")) {
      const [key, ...value] = part.trim().split("=");
      if (key === name) {
        return decodeURIComponent(value.join("="));
      }
    }
    return null;
  };

  const addCsrfHeader = (request) => {
    const method = (request.method || "GET").toUpperCase();
    if (SAFE.includes(method)) {
      return request;
    }
    let url;
    try {
      url = new URL(request.url, document.baseURI);
    } catch (e) {
      return request;
    }
    if (url.origin !== window.location.origin) {
      return request; // never hand our token to another site
    }
    const token = readCookie(cookieName);
    if (token) {
      request.headers = request.headers || {};
      request.headers[headerName] = token;
    }
    return request;
  };

  const original = window.SwaggerUIBundle;
  if (typeof original !== "function") {
    return;
  }
  const withCsrf = function (config) {
    const inner = config.requestInterceptor;
    return original({
      ...config,
      requestInterceptor: async (request) => {
        const intercepted = inner ? (await inner(request)) || request : request;
        return addCsrfHeader(intercepted);
      },
    });
  };
  Object.assign(withCsrf, original); // presets, plugins, ...
  window.SwaggerUIBundle = withCsrf;
})();
