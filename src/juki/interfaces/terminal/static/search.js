// The result list of a search: move the focus to its heading, so the eye and a screen reader
// start at the results rather than in the 氏名 field the search was typed in (issue 10 item 1).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const heading = document.getElementById("results-heading");
  if (heading) {
    heading.focus({ preventScroll: true });
    heading.scrollIntoView({ block: "start" });
  }
});
