// A Streamlit component (API version 1) that runs one WebAuthn ceremony: it receives the
// server's options as JSON, calls navigator.credentials.create() or .get() when the user presses
// the button, and returns the authenticator's answer as JSON. No build step and no remote code:
// Streamlit serves this file from the package. The server verifies everything; nothing here is
// trusted.
"use strict";

(function () {
  const button = document.getElementById("ceremony");
  const status = document.getElementById("status");
  const parentOrigin = (function () {
    // The app passes its own address; the iframe is served from the same server.
    try {
      return new URL(new URLSearchParams(window.location.search).get("streamlitUrl")).origin;
    } catch (error) {
      return window.location.origin;
    }
  })();
  let args = null;
  let answeredCeremony = null;

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), parentOrigin);
  }

  function fitHeight() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.body.scrollHeight) + 2 });
  }

  function toBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      user: Object.assign({}, options.user, { id: toBytes(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials),
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      allowCredentials: descriptors(options.allowCredentials),
    });
  }

  function credentialJson(credential) {
    const response = credential.response;
    const answer = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      answer.response.attestationObject = toBase64url(response.attestationObject);
      answer.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      answer.response.authenticatorData = toBase64url(response.authenticatorData);
      answer.response.signature = toBase64url(response.signature);
      if (response.userHandle) answer.response.userHandle = toBase64url(response.userHandle);
    }
    return answer;
  }

  function show(message) {
    status.textContent = message;
    fitHeight();
  }

  async function runCeremony() {
    if (!args || answeredCeremony === args.ceremony) return;
    const ceremony = args.ceremony;
    button.disabled = true;
    show(args.waiting);
    let value;
    try {
      if (!window.PublicKeyCredential || !navigator.credentials) {
        throw Object.assign(new Error("This browser cannot use security keys here."), { name: "NotSupportedError" });
      }
      const options = JSON.parse(args.options);
      const credential = args.mode === "create"
        ? await navigator.credentials.create({ publicKey: creationOptions(options) })
        : await navigator.credentials.get({ publicKey: requestOptions(options) });
      value = { ceremony: ceremony, credential: credentialJson(credential) };
      show(args.answered);
    } catch (error) {
      // Cancelled, timed out, no matching key, or not allowed here: the page says what to do.
      value = { ceremony: ceremony, error: String(error && error.name || "Error") };
      show(args.failed);
      button.disabled = false;
      send("streamlit:setComponentValue", { value: value, dataType: "json" });
      return;
    }
    answeredCeremony = ceremony;
    send("streamlit:setComponentValue", { value: value, dataType: "json" });
  }

  function applyTheme(theme) {
    if (!theme) return;
    const style = document.documentElement.style;
    if (theme.primaryColor) style.setProperty("--primary", theme.primaryColor);
    if (theme.textColor) style.setProperty("--text", theme.textColor);
    if (theme.backgroundColor) style.setProperty("--background", theme.backgroundColor);
    if (theme.font) style.setProperty("--font", theme.font);
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "streamlit:render") return;
    const previous = args && args.ceremony;
    args = event.data.args;
    applyTheme(event.data.theme);
    button.textContent = args.label;
    if (args.ceremony !== previous) {
      answeredCeremony = null;
      status.textContent = "";
    }
    button.disabled = Boolean(event.data.disabled) || answeredCeremony === args.ceremony;
    fitHeight();
  });

  button.addEventListener("click", runCeremony);
  send("streamlit:componentReady", { apiVersion: 1 });
  fitHeight();
})();
