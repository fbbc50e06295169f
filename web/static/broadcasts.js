// The broadcast pages' script: the live audience count while composing, the live progress of a
// broadcast, and the cancel confirmation. Every page works without it (the buttons and a reload
// do the same), and it has no inline part (the Content-Security-Policy forbids it).
"use strict";
(() => {
  const JSON_ONLY = { credentials: "same-origin", headers: { Accept: "application/json" } };
  document.documentElement.classList.add("js");

  // Compose: count again whenever a filter box changes.
  const compose = document.getElementById("compose");
  const output = document.getElementById("count");
  if (compose && output) {
    let timer = null;
    let asked = 0;
    const recount = async () => {
      const query = new URLSearchParams();
      for (const box of compose.querySelectorAll("fieldset.filter input:checked")) {
        query.append(box.name, box.value);
      }
      const mine = ++asked;
      try {
        const response = await fetch("/broadcasts/count?" + query.toString(), JSON_ONLY);
        const data = await response.json();
        if (mine !== asked) return; // a later question is on its way
        output.textContent = data.text || data.error || "";
        output.classList.toggle("bad", !response.ok);
      } catch (error) {
        // offline for a moment: the "count again" button still works
      }
    };
    compose.addEventListener("change", (event) => {
      if (!event.target.closest("fieldset.filter")) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(recount, 150);
    });
  }

  // Progress: ask for the figures every few seconds until the broadcast has ended.
  const live = document.querySelector("[data-progress]");
  if (live) {
    const tick = async () => {
      try {
        const response = await fetch(live.dataset.progress, JSON_ONLY);
        if (response.ok) {
          const data = await response.json();
          for (const [name, text] of Object.entries(data.text)) {
            const cell = live.querySelector(`[data-fig="${name}"]`);
            if (cell) cell.textContent = text;
          }
          const bar = live.querySelector("progress");
          bar.max = Math.max(data.total, 1);
          bar.value = data.done;
          const state = document.querySelector("[data-state]");
          if (state) {
            state.textContent = data.state;
            state.className = ("tag " + data.tag).trim();
          }
          if (data.final) {
            for (const part of live.querySelectorAll(".bc-cancel, .js-only")) part.remove();
            for (const said of document.querySelectorAll("[data-until-final]")) said.remove();
            return;
          }
        }
      } catch (error) {
        // a moment offline: try again at the next turn
      }
      window.setTimeout(tick, 3000);
    };
    window.setTimeout(tick, 3000);
  }

  // Cancel: app.js asks the question (data-confirm); once answered yes, no second page.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.classList.contains("bc-cancel")) return;
    form.querySelector("input[name=confirm]").value = "yes";
  });
})();
