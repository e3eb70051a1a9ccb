// Runs (start, follow live over server-sent events, cancel), the history's undo buttons and
// the resolution of conflicts. Uses api() and say() from workspace.js.
"use strict";

function wireStartRun() {
  const form = document.getElementById("start-run");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = form.elements.kind.value;
    const body = {
      kind,
      iterations: Number.parseInt(form.elements.iterations.value, 10),
      seed: Number.parseInt(form.elements.seed.value, 10),
    };
    if (kind === "analysis") {
      body.method = form.elements.method.value;
      if (form.elements.direction.value) body.direction = form.elements.direction.value;
    }
    try {
      const run = await api("POST", `/api/projects/${form.dataset.project}/runs`, body);
      window.location = `/p/${form.dataset.project}/runs/${run.id}`;
    } catch (error) {
      say(form, error.message, true);
    }
  });
}

function showRun(section, run) {
  section.dataset.status = run.status;
  section.querySelector(".status").textContent = run.status;
  section.querySelector(".stage").textContent = run.stage || "";
  const bar = section.querySelector("progress.task");
  const label = section.querySelector(".task-label");
  if (run.task && run.status === "running") {
    bar.hidden = false;
    bar.max = run.task.total;
    bar.value = run.task.done;
    label.textContent = `${run.task.label}: ${run.task.done} / ${run.task.total}`;
  } else {
    bar.hidden = true;
    label.textContent = "";
  }
  const list = section.querySelector(".messages");
  list.replaceChildren(
    ...run.messages.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  section.querySelector(".error").textContent = run.error || "";
}

function wireRun() {
  const section = document.getElementById("run");
  if (!section) return;
  const base = `/api/projects/${section.dataset.project}/runs/${section.dataset.run}`;
  const cancel = section.querySelector('[data-action="cancel"]');
  if (cancel) {
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        await api("POST", `${base}/cancel`);
        say(section, "cancelling: the run stops and its partial output is removed");
      } catch (error) {
        say(section, error.message, true);
      }
    });
  }
  if (section.dataset.status !== "running") return;
  const events = new EventSource(`${base}/events`);
  events.onmessage = (message) => {
    const run = JSON.parse(message.data);
    showRun(section, run);
    if (run.status !== "running") {
      events.close();
      // The finished page lists the report, the maps and the tables.
      window.setTimeout(() => window.location.reload(), 300);
    }
  };
}

function wireHistory() {
  const history = document.getElementById("history");
  if (!history) return;
  for (const button of history.querySelectorAll("[data-undo]")) {
    button.addEventListener("click", async () => {
      try {
        const done = await api(
          "POST",
          `/api/projects/${history.dataset.project}/changes/${button.dataset.undo}/undo`,
        );
        say(history, `change ${button.dataset.undo} undone (change ${done.id})`);
        window.setTimeout(() => window.location.reload(), 600);
      } catch (error) {
        say(history, error.message, true);
      }
    });
  }
}

function wireConflicts() {
  const list = document.getElementById("conflicts");
  if (!list) return;
  const reasons = JSON.parse(list.dataset.reasons || "[]");
  for (const article of list.querySelectorAll("article.conflict")) {
    for (const button of article.querySelectorAll("[data-resolve]")) {
      button.addEventListener("click", async () => {
        const body = { verdict: button.dataset.resolve, resolve: true };
        if (body.verdict === "exclude" && article.dataset.stage === "eligibility") {
          const listed = reasons.map((r, i) => `${i + 1}. ${r}`).join("\n");
          const index = Number.parseInt(window.prompt(`Why is it excluded?\n${listed}`, "1"), 10) - 1;
          if (!(index >= 0 && index < reasons.length)) return;
          body.reason = reasons[index];
        }
        try {
          const id = article.dataset.record;
          const done = await api("POST", `/api/projects/${list.dataset.project}/records/${id}/decisions`, body);
          const study = done.study_id ? `; study ${done.study_id} created` : "";
          say(article, `${id}: resolved as ${body.verdict} (${done.record.place})${study}`);
          for (const other of article.querySelectorAll("button")) other.disabled = true;
        } catch (error) {
          say(article, error.message, true);
        }
      });
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  wireStartRun();
  wireRun();
  wireHistory();
  wireConflicts();
});

function wireTeam() {
  const section = document.getElementById("members");
  if (!section) return;
  const project = section.dataset.project;
  const add = document.getElementById("add-member");
  if (add) {
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = add.elements.username.value.trim();
      try {
        await api("PUT", `/api/projects/${project}/members/${encodeURIComponent(name)}`, {
          role: add.elements.role.value,
        });
        window.location.reload();
      } catch (error) {
        say(section, error.message, true);
      }
    });
  }
  const plan = document.getElementById("plan");
  if (plan) {
    plan.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reviewers = {
        screening: Number(plan.elements.screening.value),
        eligibility: Number(plan.elements.eligibility.value),
      };
      try {
        await api("PUT", `/api/projects/${project}/screening-plan`, { reviewers });
        window.location.reload();
      } catch (error) {
        say(section, error.message, true);
      }
    });
  }
}

document.addEventListener("DOMContentLoaded", wireTeam);
