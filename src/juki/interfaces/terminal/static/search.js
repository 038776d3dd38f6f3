// The result list of a search: move the focus to its heading, so the eye and a screen reader
// start at the results rather than in the 氏名 field the search was typed in (issue 10 item 1).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const heading = document.getElementById("results-heading");
  if (heading) {
    // The list is the page's first panel: no scrolling, the header and menu stay in view.
    heading.focus({ preventScroll: true });
  }
});
