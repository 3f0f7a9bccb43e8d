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

  // <input data-select-on-focus>: a shown-once secret is selected whole, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) { event.target.select(); }
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
  // Dialogs: [data-open-dialog="id"] opens <dialog id>, [data-close-dialog] closes its dialog.
  document.querySelectorAll("[data-open-dialog]").forEach(function (button) {
    button.addEventListener("click", function () { document.getElementById(button.dataset.openDialog).showModal(); });
  });
  document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });

  // Reorderable lists (the stage settings): <ol data-reorder> of [data-reorder-item] rows, each
  // with a [data-reorder-handle] to drag, [data-reorder-move="up|down"] buttons and a hidden
  // [data-reorder-position] input renumbered 1..n after every move. Without script the arrows
  // are submit buttons the server applies; with it they move the row in place (saved later).
  document.querySelectorAll("[data-reorder]").forEach(function (list) {
    var status = document.querySelector("[data-reorder-status]"), dragged = null;
    function items() { return Array.prototype.slice.call(list.querySelectorAll(":scope > [data-reorder-item]")); }
    function renumber(moved) {
      items().forEach(function (item, index) {
        var position = item.querySelector("[data-reorder-position]");
        if (position) { position.value = index + 1; }
      });
      if (status && moved) {
        var label = moved.querySelector("input[name=label]");
        status.textContent = (label ? label.value : "Stage") + " is now number " + (items().indexOf(moved) + 1) + ". Save to keep the order.";
      }
      list.classList.add("is-reordered");
    }
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-reorder-move]");
      if (!button) { return; }
      event.preventDefault();
      var item = button.closest("[data-reorder-item]");
      if (button.dataset.reorderMove === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (button.dataset.reorderMove === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      button.focus();
      renumber(item);
    });
    list.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest("[data-reorder-handle]");
      if (handle) { handle.closest("[data-reorder-item]").setAttribute("draggable", "true"); }
    });
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[data-reorder-item]");
      if (!dragged || dragged.getAttribute("draggable") !== "true") { dragged = null; event.preventDefault(); return; }
      dragged.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.stage || "");
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) { return; }
      event.preventDefault();
      var over = event.target.closest("[data-reorder-item]");
      if (!over || over === dragged) { return; }
      var box = over.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextElementSibling : over);
    });
    list.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });
    list.addEventListener("dragend", function () {
      if (!dragged) { return; }
      dragged.classList.remove("is-dragging");
      dragged.removeAttribute("draggable");
      renumber(dragged);
      dragged = null;
    });
  });

  // [data-customer-search="<customers API url>"]: offer matching customers (ids) in
  // #crm-customer-options, and tick the form's "other" choice.
  var customerOptions = document.getElementById("crm-customer-options");
  document.querySelectorAll("[data-customer-search]").forEach(function (input) {
    input.addEventListener("input", function () {
      var other = input.closest("form").querySelector("input[value=other]");
      if (other) { other.checked = true; }
      var q = input.value.trim();
      if (!q || /^\d+$/.test(q) || !customerOptions) { return; }
      fetch(input.dataset.customerSearch + "?limit=10&search=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (customers) {
          customerOptions.replaceChildren.apply(customerOptions, customers.map(function (c) {
            var option = document.createElement("option");
            option.value = c.id;
            option.label = c.name;
            option.textContent = c.name;
            return option;
          }));
        });
    });
  });
})();
