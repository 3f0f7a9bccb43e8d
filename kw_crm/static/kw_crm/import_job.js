// Live progress of an import job: polls its JSON state while it is queued or running, updates
// the bar and the counts, and reloads the page once it has ended (to show the outcome).
(function () {
  var box = document.getElementById("import-job");
  if (!box) return;
  var status = box.getAttribute("data-status");
  if (status !== "queued" && status !== "running") return;
  var bar = document.getElementById("import-progress");

  function show(job) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = job[el.getAttribute("data-field")];
      if (value === undefined || value === null) return;
      (el.querySelector(".pill") || el).textContent = value;
    });
    if (job.total_rows) bar.max = job.total_rows;
    bar.value = job.processed_rows;
  }

  function poll() {
    fetch(box.getAttribute("data-status-url"), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) return setTimeout(poll, 3000);
        show(job);
        if (job.status !== "queued" && job.status !== "running") return window.location.reload();
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
