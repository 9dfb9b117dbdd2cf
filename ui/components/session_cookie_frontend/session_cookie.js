// A Streamlit component (API version 1) with nothing to show: it POSTs the one-time code the
// page was given to the app's own /auth/session, whose answer sets the HttpOnly session cookie.
// It reports nothing back: a value would rerun the page, and a rerun a moment after sign-in
// could swallow the person's first click. The server knows when the code is spent. The code is
// good once, for a minute; the cookie's token is never seen here.
"use strict";

(function () {
  const parentOrigin = (function () {
    try {
      return new URL(new URLSearchParams(window.location.search).get("streamlitUrl")).origin;
    } catch (error) {
      return window.location.origin;
    }
  })();
  let sentFor = null;

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), parentOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "streamlit:render") return;
    const code = event.data.args && event.data.args.code;
    if (typeof code !== "string" || code === sentFor) return;
    sentFor = code;
    fetch(new URL("/auth/session", window.location.origin), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code }),
    })
      // Read to the end: an answer left unread keeps the request open in the browser.
      .then(function (response) { return response.text(); })
      .catch(function () {});
  });
  send("streamlit:componentReady", { apiVersion: 1 });
  send("streamlit:setFrameHeight", { height: 0 });
})();
