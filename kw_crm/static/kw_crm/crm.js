/* Behaviour of the CRM pages. The Content-Security-Policy allows no inline script, so pages
   declare what they need with data- attributes and this file wires it up. */
(function () {
  "use strict";

  // <form data-confirm="Delete this?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);

  // <select data-autosubmit>: submit its form when the choice changes.
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) { event.target.form.submit(); }
  });

  // <input type=checkbox data-select-all="ids">: tick or untick every checkbox named "ids".
  document.addEventListener("click", function (event) {
    var name = event.target.getAttribute && event.target.getAttribute("data-select-all");
    if (!name) { return; }
    document.querySelectorAll('input[name="' + name + '"]').forEach(function (box) { box.checked = event.target.checked; });
  });

  // Tabs (.crm-tabs [role=tab] controlling the panel named by aria-controls).
  document.querySelectorAll(".crm-tabs [role=tab]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      document.querySelectorAll(".crm-tabs [role=tab]").forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on);
        document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
      });
    });
  });

  // Searchable owner lookup (#owner-search data-lookup-url, #owner-select): refill the owner
  // list with the active users matching the search.
  var search = document.getElementById("owner-search"), select = document.getElementById("owner-select"), timer;
  if (search && select) {
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var current = select.value;
        fetch(search.dataset.lookupUrl + "?q=" + encodeURIComponent(search.value), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (users) {
            if (!users.length) { return; }
            select.textContent = "";
            users.forEach(function (u) {
              var option = document.createElement("option");
              option.value = u.id;
              option.textContent = u.name + " (" + u.email + ")";
              option.selected = String(u.id) === current;
              select.appendChild(option);
            });
          });
      }, 200);
    });
  }
})();
