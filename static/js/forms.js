/* Forms (progressive enhancement): a live character counter on long text fields, and the error
   summary focused after a refused submission. Without JavaScript the counter says the limit and
   the server refuses an overlong value with a clear error; nothing is ever cut silently. */
(function () {
  "use strict";

  function setupCounter(input) {
    var counter = document.getElementById(input.getAttribute("data-counter"));
    var limit = parseInt(input.getAttribute("data-maxlength"), 10);
    if (!counter || !limit) { return; }
    function update() {
      var length = input.value.length;
      var left = limit - length;
      if (left >= 0) {
        counter.textContent = length + " of " + limit + " characters (" + left + " left)";
        counter.classList.remove("counter-over");
        input.removeAttribute("aria-invalid");
      } else {
        counter.textContent = length + " of " + limit + " characters: " + (-left) + " too many";
        counter.classList.add("counter-over");
        input.setAttribute("aria-invalid", "true");
      }
    }
    input.addEventListener("input", update);
    update();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-counter][data-maxlength]"), setupCounter);
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
