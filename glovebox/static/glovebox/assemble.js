/* The cell assembly checklist. The parts are scanned one after the other (a scanner's Enter
   moves to the next part, it does not build); "Build the cell" puts one entry in the outbox,
   so a network that drops at that moment loses nothing. While the entry waits the checklist
   shows it, after a reload too; once the server has built the cell, its page opens. */
(() => {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("assemble-form");
    const build = document.getElementById("assemble-build");
    const box = document.getElementById("assemble-waiting");
    const parts = [...form.querySelectorAll("input[data-code]")];

    parts.forEach((input, i) => input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      const next = parts.slice(i + 1).find((p) => p.value.trim() === "");
      (next || build).focus();
    }));

    function show(entry) {
      build.hidden = Boolean(entry);
      box.hidden = !entry;
      parts.forEach((input) => { input.readOnly = Boolean(entry); });
      if (!entry) { delete form.dataset.queued; return; }
      form.dataset.queued = "1";
      parts.forEach((input) => { input.value = entry.fields[input.name] || ""; });
      const code = (text) => Object.assign(document.createElement("span"), { className: "code", textContent: text });
      const f = entry.fields;
      box.replaceChildren("Waiting to send: the cell from ", code(f.separator), ", ", code(f.electrode_1),
        " and ", code(f.electrode_2), ". It is built as soon as the network is back; nothing more to tap.");
    }
    const mine = (entries) =>
      entries.filter((e) => e.kind === "assemble" && e.user === window.bench.me());

    document.addEventListener("bench:waiting", (event) => show(mine(event.detail).pop() || null));
    document.addEventListener("bench:queued", (event) => {
      if (event.detail.kind !== "assemble") return;
      form.querySelectorAll(".error").forEach((p) => { p.hidden = true; });
      show(event.detail);
    });
    document.addEventListener("bench:sent", (event) => {
      const { entry, status, data } = event.detail;
      if (entry.kind !== "assemble") return;
      if (status < 400 && data.code) {
        location.assign(form.dataset.cellUrl.replace("CODE", encodeURIComponent(data.code)));
        return;
      }
      show(null);  // refused: the parts stay in the fields, the reasons beside them
    });
  });
})();
