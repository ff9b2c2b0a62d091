// Reload the record page once the analysis run it shows has finished (no inline script: CSP).
(function () {
  const panel = document.querySelector("[data-run-url]");
  if (!panel) return;
  const url = panel.getAttribute("data-run-url");
  const check = () =>
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null))
      .then((run) => {
        if (run && (run.status === "done" || run.status === "failed")) window.location.reload();
        else setTimeout(check, 3000);
      })
      .catch(() => setTimeout(check, 10000));
  setTimeout(check, 2000);
})();
