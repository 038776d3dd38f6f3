// 離席 (leaving the desk) at once by keyboard: Ctrl+Alt+L submits the header's 離席 form, which locks
// the session on the server and shows the lock page; unlocking returns to this page (the form
// carries its path, which the server checks against its own pages). Issue 10 item 11; S-04.
"use strict";

(function () {
  const form = document.getElementById("leave-form");
  if (!form) return;
  window.addEventListener(
    "keydown",
    function (event) {
      if (event.ctrlKey && event.altKey && !event.shiftKey && !event.metaKey && event.code === "KeyL") {
        event.preventDefault();
        form.requestSubmit();
      }
    },
    { capture: true }
  );
})();
