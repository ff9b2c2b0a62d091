/* Weighing: the deviation from the target is shown while the mass is typed, and flagged
   beyond the tolerance before anything is saved. */
(() => {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("input[data-target]").forEach((input) => {
      const form = input.form;
      const box = form.querySelector('[data-msg="actual_mass_g-deviation"]');
      input.addEventListener("input", () => {
        const value = window.bench.number(input.value);
        const target = Number(input.dataset.target);
        const tolerance = Number(input.dataset.tolerancePercent);
        if (Number.isNaN(value) || value <= 0) { box.hidden = true; return; }
        const deviation = (100 * (value - target)) / target;
        const text = `Deviation ${deviation >= 0 ? "+" : ""}${deviation.toFixed(2)} % from ${target} g`;
        const beyond = Math.abs(deviation) > tolerance;
        box.textContent = beyond ? `${text}: beyond ±${tolerance} %, check it before saving.` : `${text}.`;
        box.className = beyond ? "warn" : "ok";
        box.hidden = false;
      });
    });
    document.addEventListener("bench:sent", (event) => {
      const { entry, status, data } = event.detail;
      if (entry.kind !== "weigh") return;
      const form = document.querySelector(`form input[name=lot][value="${entry.fields.lot}"]`)?.form;
      if (!form) return;
      if (status >= 400) {
        const box = form.querySelector('[data-msg="actual_mass_g-error"]');
        box.textContent = `Not saved: ${Object.values(data.errors || {}).flat().join(" ")}`;
        box.hidden = false;
        return;
      }
      const done = document.createElement("p");
      done.className = data.flagged ? "warn" : "ok";
      done.textContent = `Saved ${data.entry.summary}`;
      form.replaceWith(done);
    });
  });
})();
