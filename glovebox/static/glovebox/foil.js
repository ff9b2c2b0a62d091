/* Fold passes on one foil: the count shown is the server's plus what waits in the outbox. */
(() => {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const section = document.getElementById("passes");
    const code = section.dataset.code;
    const target = Number(section.dataset.target) || null;
    const undoWindowMs = Number(section.dataset.undoWindowS) * 1000;
    const undoForm = document.getElementById("undo-form");
    const list = document.getElementById("pass-list");
    let stored = Number(section.dataset.count);
    let undoUntil = Number(section.dataset.undoUntil || 0) * 1000;

    function render(waiting) {
      const mine = waiting.filter((e) => e.record === code);
      const count = stored + mine.filter((e) => e.kind === "pass").length
        - mine.filter((e) => e.kind === "undo").length;
      document.getElementById("pass-count").textContent = count;
      const progress = document.getElementById("pass-progress");
      if (progress) progress.value = count;
      document.getElementById("pass-target-reached").hidden = !(target && count >= target);
      list.querySelectorAll(".waiting-entry").forEach((li) => li.remove());
      const none = list.querySelector("li.muted");
      if (none) none.hidden = mine.length > 0;
      for (const entry of mine) {
        const li = document.createElement("li");
        li.className = "waiting-entry";
        const at = new Date(entry.created).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        li.textContent = entry.kind === "pass"
          ? `Waiting to send · ${entry.fields.thickness_after_um} µm · ${at}`
          : `Waiting to send · undo · ${at}`;
        list.prepend(li);
      }
      if (undoForm) undoForm.hidden = !(Date.now() < undoUntil && count > 0);
    }

    // Undo names the pass it takes back: the last one this page knows, by its number and
    // version, or by the key of a pass this page logged (maybe still waiting to be sent).
    function undoes(fields) {
      if (!undoForm) return;
      for (const name of ["pass_number", "version", "pass_key"]) undoForm.elements[name].value = fields[name] ?? "";
    }
    document.addEventListener("bench:waiting", (event) => render(event.detail));
    document.addEventListener("bench:queued", (event) => {
      if (event.detail.record !== code) return;
      undoUntil = event.detail.kind === "pass" ? Date.now() + undoWindowMs : 0;
      undoes(event.detail.kind === "pass" ? { pass_key: event.detail.key } : {});
      const error = document.getElementById("__all__-error");
      if (error) error.hidden = true;
    });
    document.addEventListener("bench:sent", (event) => {
      const { entry, status, data } = event.detail;
      if (entry.record !== code) return;
      if (typeof data.count === "number") stored = data.count;
      if (entry.kind === "undo" && typeof data.pass_number === "number") {
        undoes({ pass_number: data.pass_number, version: data.version });  // the last one now
      }
      if (status >= 400) return;
      if (entry.kind === "pass" && undoForm && undoForm.elements.pass_key.value === entry.key) {
        undoes({ pass_number: data.pass_number, version: data.version });
      }
      const li = document.createElement("li");
      li.textContent = entry.kind === "pass"
        ? `Pass ${data.pass_number} · ${entry.fields.thickness_after_um} µm · saved`
        : `Pass ${data.undone} undone`;
      list.querySelector("li.muted")?.remove();
      list.prepend(li);
      [...list.children].slice(8).forEach((old) => old.remove());
    });
    setInterval(() => window.bench.showWaiting(), 15000);  // hides Undo when its window closes
  });
})();
