// The comparison of two extractions: hide agreeing rows on request, and let an owner adopt one
// extraction with the values chosen per disagreeing field. Uses api() and say() of workspace.js.
"use strict";

function wireComparison() {
  const section = document.getElementById("compare");
  if (!section) return;
  const filter = section.querySelector('input[name="only-disagreements"]');
  filter.addEventListener("change", () => {
    for (const row of section.querySelectorAll('tr[data-agree="true"]')) {
      row.hidden = filter.checked;
    }
  });
  const form = document.getElementById("adopt");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reviewer = form.elements.reviewer.value;
    const choices = {};
    for (const radio of section.querySelectorAll("input[type=radio][data-path]:checked")) {
      if (radio.value !== reviewer) choices[radio.dataset.path] = radio.value;
    }
    const url = `/api/projects/${section.dataset.project}/studies/${encodeURIComponent(section.dataset.study)}/extractions/adopt`;
    try {
      const done = await api("POST", url, { reviewer, choices });
      const taken = Object.keys(choices).length;
      say(form, done.change
        ? `adopted ${reviewer}'s extraction with ${taken} value(s) from others: change ${done.change.id}, undoable in the history`
        : "the study was that already: nothing changed");
    } catch (error) {
      say(form, error.message, true);
    }
  });
}

document.addEventListener("DOMContentLoaded", wireComparison);
