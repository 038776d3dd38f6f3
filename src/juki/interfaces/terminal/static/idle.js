// Idle lock, the terminal's "screen saver" (REQUIREMENTS S-04).
//
// After data-idle-seconds without keyboard, pointer or scroll activity, every element of the page
// body is removed — so no personal data stays in the DOM — and replaced by the lock screen from
// the page's <template id="juki-lock-screen"> (a re-authentication form, no data). The server is
// told at once (POST data-lock-url) and enforces the same rule on its own: a session idle longer
// than the limit answers every request with the lock page (T_SESSION_LOCKED) until the operator
// re-authenticates. While the operator is active, a heartbeat (POST data-activity-url, at most
// every half idle period) keeps the server's idea of "last activity" in step with the screen's,
// so typing a long form does not lock the session server-side.
"use strict";

(function () {
  const body = document.body;
  const seconds = Number(body.dataset.idleSeconds || "0");
  if (!seconds || seconds <= 0) return;
  const csrf = body.dataset.csrf || "";
  const lockUrl = body.dataset.lockUrl;
  const activityUrl = body.dataset.activityUrl;
  const template = document.getElementById("juki-lock-screen");
  const lockContent = template ? template.content.cloneNode(true) : null;
  let timer = null;
  let locked = false;
  let lastActivity = Date.now();
  let lastBeat = Date.now();

  function post(url, payload) {
    if (!url) return Promise.resolve(null);
    const headers = { "X-CSRF-Token": csrf };
    if (payload) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      keepalive: true,
      headers: headers,
      body: payload ? JSON.stringify(payload) : undefined,
    }).catch(function () {
      return null;
    });
  }

  function two(n) {
    return String(n).padStart(2, "0");
  }

  function lock() {
    if (locked) return;
    locked = true;
    window.clearTimeout(timer);
    // Remove everything, including <template> elements and hidden fields, then show the lock screen.
    body.replaceChildren();
    document.title = "画面ロック中 — 住基ネット 都道府県サーバ端末";
    body.classList.add("locked");
    if (lockContent) body.appendChild(lockContent);
    const now = new Date();
    const at = body.querySelector("[data-locked-at]");
    if (at) {
      at.textContent = now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate()) +
        " " + two(now.getHours()) + ":" + two(now.getMinutes()) + ":" + two(now.getSeconds());
    }
    const first = body.querySelector("input, button");
    if (first) first.focus();
    // The server keeps this page's path (if it is one of its own pages) for the return after unlocking.
    post(lockUrl, { return_to: window.location.pathname });
  }

  function arm() {
    window.clearTimeout(timer);
    timer = window.setTimeout(lock, seconds * 1000);
  }

  function activity() {
    if (locked) return;
    lastActivity = Date.now();
    arm();
    if (lastActivity - lastBeat > (seconds * 1000) / 2) {
      lastBeat = lastActivity;
      post(activityUrl).then(function (response) {
        if (response && response.status === 401) lock();
      });
    }
  }

  ["keydown", "input", "mousedown", "pointermove", "wheel", "touchstart", "scroll"].forEach(function (name) {
    window.addEventListener(name, activity, { passive: true, capture: true });
  });
  // A page restored from the back/forward cache or a tab woken after sleep re-checks the clock.
  document.addEventListener("visibilitychange", function () {
    if (!locked && Date.now() - lastActivity >= seconds * 1000) lock();
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) lock();
  });
  arm();
})();
