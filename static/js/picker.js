/* Search pickers (progressive enhancement). Without JavaScript the picker's Search button submits the
   form and the server re-renders it with results; with it, results arrive as you type from the same
   server-side search (JSON). Checked options are always kept. No dependencies, no network beyond
   this site. */
(function () {
  "use strict";

  function optionLabel(name, multiple, item) {
    var label = document.createElement("label");
    label.className = "picker-option";
    var input = document.createElement("input");
    input.type = multiple ? "checkbox" : "radio";
    input.name = name;
    input.value = String(item.value);
    var main = document.createElement("span");
    main.textContent = item.label;
    var detail = document.createElement("span");
    detail.className = "muted small";
    detail.textContent = item.detail || "";
    label.appendChild(input);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(main);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(detail);
    return label;
  }

  function setup(picker) {
    var url = picker.getAttribute("data-picker-url");
    var name = picker.getAttribute("data-picker-name");
    var multiple = picker.hasAttribute("data-picker-multiple");
    var search = picker.querySelector(".picker-search input[type=search]");
    var button = picker.querySelector(".picker-search button");
    var options = picker.querySelector(".picker-options");
    if (!url || !search || !options) { return; }
    var timer = null;
    var seq = 0;

    function run() {
      var mine = ++seq;
      var sep = url.indexOf("?") >= 0 ? "&" : "?";
      var query = "q=" + encodeURIComponent(search.value);
      // A scope picker beside a role choice offers only the scopes where that role can be assigned.
      var roleFrom = picker.getAttribute("data-picker-role-from");
      var roleInput = roleFrom ? document.getElementById(roleFrom) : null;
      if (roleInput && roleInput.value) { query += "&role=" + encodeURIComponent(roleInput.value); }
      fetch(url + sep + query, {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("search failed: " + response.status); }
        return response.json();
      }).then(function (data) {
        if (mine !== seq) { return; }
        var kept = {};
        Array.prototype.forEach.call(options.querySelectorAll("label.picker-option"), function (label) {
          var input = label.querySelector("input");
          if (input && input.checked) { kept[input.value] = true; } else { label.remove(); }
        });
        var empty = options.querySelector(".picker-empty");
        if (empty) { empty.remove(); }
        (data.results || []).forEach(function (item) {
          if (!kept[String(item.value)]) { options.appendChild(optionLabel(name, multiple, item)); }
        });
        if (!options.querySelector("label.picker-option")) {
          var none = document.createElement("p");
          none.className = "muted small picker-empty";
          none.textContent = "Nothing matches.";
          options.appendChild(none);
        }
      }).catch(function () { /* the Search button still works without the live search */ });
    }

    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, 200);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(timer); run(); }
    });
    if (button) {
      button.addEventListener("click", function (event) { event.preventDefault(); run(); });
    }
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-picker]"), setup);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
