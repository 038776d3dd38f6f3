// WebAuthn ceremonies of the juki terminal (REQUIREMENTS S-01, S-02; ARCHITECTURE.md §4, §7).
//
// A button carrying data-webauthn="signin" | "unlock" | "register" starts a ceremony:
//   1. POST its data-options-url (CSRF token in the X-CSRF-Token header) -> the server's options,
//      JSON as py_webauthn writes them (binary fields base64url);
//   2. navigator.credentials.get() / create() — the authenticator verifies the operator
//      (biometrics or PIN: the server requires user verification and refuses without it);
//   3. POST {credential, login?} as JSON to data-verify-url; the answer is {redirect} or
//      {code, message}. The login typed (data-login-field) goes with both calls: the server asks
//      the authenticator for that operator's credentials (S-02: ID plus biometrics).
// Listeners are delegated from the document, so a button inserted later (the idle lock screen)
// works too. No inline script anywhere: the page's CSP forbids it.
"use strict";

(function () {
  function b64urlToBuffer(value) {
    const pad = "=".repeat((4 - (value.length % 4)) % 4);
    const b64 = (value + pad).replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let raw = "";
    for (let i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    const options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: b64urlToBuffer(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuffer(c.id) });
    });
    return options;
  }

  function requestOptions(json) {
    const options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuffer(c.id) });
    });
    return options;
  }

  function registrationJson(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: bufferToB64url(response.clientDataJSON),
        attestationObject: bufferToB64url(response.attestationObject),
        transports: typeof response.getTransports === "function" ? response.getTransports() : [],
      },
    };
  }

  function assertionJson(credential) {
    const response = credential.response;
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: bufferToB64url(response.clientDataJSON),
        authenticatorData: bufferToB64url(response.authenticatorData),
        signature: bufferToB64url(response.signature),
        userHandle: response.userHandle ? bufferToB64url(response.userHandle) : null,
      },
    };
  }

  function statusFor(button) {
    const scope = button.closest("[data-webauthn-scope]") || document;
    return scope.querySelector("[data-webauthn-status]");
  }

  function show(button, text, isError) {
    const status = statusFor(button);
    if (!status) return;
    status.textContent = text;
    status.hidden = false;
    status.classList.toggle("error", Boolean(isError));
    status.classList.toggle("notice", !isError);
  }

  async function postJson(url, csrf, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = { code: "T_HTTP_" + response.status, message: "サーバーの応答を読み取れませんでした" };
    }
    return { ok: response.ok, data: data };
  }

  function refusalText(data) {
    return (data.message || "認証に失敗しました") + (data.code ? "（" + data.code + "）" : "");
  }

  async function run(button) {
    const mode = button.dataset.webauthn;
    const csrf = button.dataset.csrf || "";
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(button, "このブラウザは生体認証（WebAuthn）に対応していません", true);
      return;
    }
    const loginField = button.dataset.loginField ? document.getElementById(button.dataset.loginField) : null;
    if (loginField && !loginField.value.trim()) {
      show(button, "操作者IDを入力してから「" + button.textContent.trim() + "」を押してください", true);
      loginField.focus();
      return;
    }
    const request = loginField ? { login: loginField.value.trim() } : {};
    button.disabled = true;
    try {
      const options = await postJson(button.dataset.optionsUrl, csrf, request);
      if (!options.ok) {
        show(button, refusalText(options.data), true);
        return;
      }
      show(button, "認証器の操作を待っています…", false);
      let payload;
      if (mode === "register") {
        const credential = await navigator.credentials.create({ publicKey: creationOptions(options.data) });
        payload = registrationJson(credential);
      } else {
        const credential = await navigator.credentials.get({ publicKey: requestOptions(options.data) });
        payload = assertionJson(credential);
      }
      const result = await postJson(
        button.dataset.verifyUrl,
        csrf,
        Object.assign({}, request, { credential: payload })
      );
      if (result.ok && result.data.redirect) {
        window.location.assign(result.data.redirect);
        return;
      }
      show(button, refusalText(result.data), true);
    } catch (error) {
      const name = error && error.name ? error.name : "Error";
      show(button, "生体認証が中止されたか、失敗しました（" + name + "）", true);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest ? event.target.closest("[data-webauthn]") : null;
    if (!button) return;
    event.preventDefault();
    run(button);
  });
})();
