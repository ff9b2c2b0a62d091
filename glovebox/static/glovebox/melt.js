/* Melt-quench with a countdown of the hold. Each tap stores its time on the tablet at once
   (localStorage), so a reload or a dropped network during the hold loses nothing. */
(() => {
  "use strict";
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("melt-form");
    const code = form.dataset.record;
    const holdMs = Number(form.dataset.holdS) * 1000;
    const storeKey = `melt:${code}`;
    const countdown = document.getElementById("countdown");
    const phase = document.getElementById("melt-phase");
    const buttons = {
      start: document.getElementById("melt-start"),
      lift: document.getElementById("melt-lift"),
      quenched: document.getElementById("melt-quenched"),
      save: document.getElementById("melt-save"),
      reset: document.getElementById("melt-reset"),
    };
    let state = JSON.parse(localStorage.getItem(storeKey) || "{}");

    const clock = (ms) => {
      const s = Math.round(Math.abs(ms) / 1000);
      return `${ms < 0 ? "+" : ""}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    };
    function save() { localStorage.setItem(storeKey, JSON.stringify(state)); }
    function render() {
      for (const [name, field] of [["started", "started_at"], ["ended", "ended_at"], ["quenched", "quenched_at"]])
        form.elements[field].value = state[name] ? new Date(state[name]).toISOString() : "";
      const step = !state.started ? "start" : !state.ended ? "lift" : !state.quenched ? "quenched" : "save";
      buttons.start.hidden = step !== "start";
      buttons.lift.hidden = step !== "lift";
      buttons.quenched.hidden = step !== "quenched";
      buttons.save.hidden = step !== "save";
      buttons.reset.hidden = step === "start";
      countdown.classList.toggle("over", false);
      if (step === "start") {
        countdown.textContent = clock(holdMs);
        phase.textContent = "Tap Start when the stack is on the hot plate at temperature.";
      } else if (step === "lift") {
        const left = holdMs - (Date.now() - state.started);
        countdown.textContent = clock(left);
        countdown.classList.toggle("over", left <= 0);
        phase.textContent = left > 0 ? "Holding…" : "Hold time reached: lift off now.";
      } else {
        countdown.textContent = clock(holdMs - (state.ended - state.started));
        phase.textContent = step === "quenched"
          ? `Held ${Math.round((state.ended - state.started) / 1000)} s. Tap Quenched when it is on the quench plate.`
          : `Held ${Math.round((state.ended - state.started) / 1000)} s, quenched after ${Math.round((state.quenched - state.ended) / 1000)} s. Check the temperatures and save.`;
      }
    }
    // What was typed survives a reload too.
    const typed = ["setpoint_C", "measured_C", "quench_surface"];
    for (const name of typed) {
      const input = form.elements[name];
      if (state.fields && state.fields[name] !== undefined) input.value = state.fields[name];
      input.addEventListener("input", () => {
        state.fields = { ...(state.fields || {}), [name]: input.value };
        save();
      });
    }
    const tap = (name) => () => { state[name] = Date.now(); save(); render(); };
    buttons.start.addEventListener("click", tap("started"));
    buttons.lift.addEventListener("click", tap("ended"));
    buttons.quenched.addEventListener("click", tap("quenched"));
    buttons.reset.addEventListener("click", () => { state = { fields: state.fields }; save(); render(); });
    document.addEventListener("bench:queued", (event) => {
      if (event.detail.record !== code || event.detail.kind !== "melt") return;
      localStorage.removeItem(storeKey);  // the entry is in the outbox now
      state = {};
      render();
      phase.textContent = "Saved on the tablet; it is sent as soon as the network allows.";
    });
    render();
    setInterval(render, 250);
  });
})();
