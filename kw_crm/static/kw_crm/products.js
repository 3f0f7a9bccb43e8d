// Keeps every plan picker scoped to the chosen (or locked) product and filtered by its search box.
(function () {
  function scope(picker) {
    var select = picker.querySelector("[data-plan-select]");
    if (!select) return;
    var productSelect = picker.querySelector("[data-product-select]");
    var search = picker.querySelector("[data-plan-search]");
    var product = picker.getAttribute("data-locked-product") || (productSelect ? productSelect.value : "");
    var words = (search ? search.value : "").trim().toLowerCase();
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) return;
      var visible = (!product || option.getAttribute("data-product") === product) &&
        (!words || option.textContent.toLowerCase().indexOf(words) !== -1);
      option.hidden = !visible;
      option.disabled = !visible;
      if (!visible && option.selected) select.value = "";
    });
  }
  document.querySelectorAll("[data-product-picker]").forEach(function (picker) {
    picker.addEventListener("input", function () { scope(picker); });
    picker.addEventListener("change", function () { scope(picker); });
    scope(picker);
  });
  document.querySelectorAll("[data-open-dialog]").forEach(function (button) {
    button.addEventListener("click", function () {
      var dialog = document.getElementById(button.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) dialog.showModal();
    });
  });
  document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });
})();
