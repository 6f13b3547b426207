// Sortable tables: <table data-sortable> whose header cells hold <button class="sort">. A click
// sorts the rows of each <tbody> by that column (numbers as numbers, dates and text as text), again
// to reverse; aria-sort says the order to assistive technology. Without JavaScript the table keeps
// the server's order. A cell's data-sort value, when present, is sorted on instead of its text.
(function () {
  "use strict";
  function key(cell) {
    var text = (cell && (cell.getAttribute("data-sort") || cell.textContent) || "").trim();
    var number = Number(text.replace(/[, ]/g, ""));
    return text !== "" && !isNaN(number) ? { n: number } : { t: text.toLowerCase() };
  }
  function compare(a, b) {
    if ("n" in a && "n" in b) return a.n - b.n;
    var x = "t" in a ? a.t : String(a.n), y = "t" in b ? b.t : String(b.n);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  document.querySelectorAll("table[data-sortable]").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        table.querySelectorAll("tbody").forEach(function (body) {
          var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.querySelector(".empty"); });
          rows.sort(function (r1, r2) {
            var order = compare(key(r1.cells[column]), key(r2.cells[column]));
            return ascending ? order : -order;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        });
      });
    });
  });
})();
