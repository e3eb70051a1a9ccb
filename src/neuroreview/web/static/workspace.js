// neuroreview's browser script: forms and the screening keys, over the REST API.
// Every change sends the session's CSRF token (from the page's meta tag).
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function api(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() } };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const answer = await fetch(url, options);
  const text = await answer.text();
  const data = text ? JSON.parse(text) : null;
  if (!answer.ok) {
    const detail = data && data.detail;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

function say(element, text, failed = false) {
  const message = element.querySelector(".message");
  if (!message) return;
  message.textContent = text;
  message.classList.toggle("failed", failed);
}

function signIn(form) {
  const credentials = {
    username: form.elements.username.value,
    password: form.elements.password.value,
  };
  return credentials;
}

function wireSignIn() {
  const form = document.getElementById("sign-in");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", "/api/session", signIn(form));
      window.location = "/";
    } catch (error) {
      say(form, error.message, true);
    }
  });
  form.querySelector('[data-action="sign-up"]').addEventListener("click", async () => {
    try {
      await api("POST", "/api/accounts", signIn(form));
      await api("POST", "/api/session", signIn(form));
      window.location = "/";
    } catch (error) {
      say(form, error.message, true);
    }
  });
}

function wireSignOut() {
  const button = document.querySelector('[data-action="sign-out"]');
  if (!button) return;
  button.addEventListener("click", async () => {
    await api("DELETE", "/api/session");
    window.location = "/sign-in";
  });
}

function wireImport() {
  const form = document.getElementById("import");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (!data.get("source")) data.delete("source");
    try {
      const batch = await api("POST", `/api/projects/${form.dataset.project}/imports`, data);
      say(form, `imported ${batch.n_records} records from ${batch.file} as batch ${batch.batch}`);
      window.setTimeout(() => window.location.reload(), 600);
    } catch (error) {
      say(form, error.message, true);
    }
  });
}

function wireScreening() {
  const screen = document.getElementById("screen");
  if (!screen) return;
  const project = screen.dataset.project;
  const stage = screen.dataset.stage;
  const reasons = JSON.parse(screen.dataset.reasons || "[]");
  let current = null;
  let busy = false;
  // Records decided on this page, latest last: what `u` undoes, one at a time.
  const decidedHere = [];

  async function load() {
    const queue = await api("GET", `/api/projects/${project}/queue?stage=${stage}&limit=1`);
    showProgress(queue);
    show(queue.records[0] || null);
  }

  function showProgress(queue) {
    const progress = [`${queue.decided_by_you} decided by you`, `${queue.remaining} left`];
    if (queue.estimated_recall !== null) {
      progress.push(`estimated recall ${(100 * queue.estimated_recall).toFixed(0)}%`);
    }
    if (queue.since_last_include !== null) {
      progress.push(`${queue.since_last_include} since the last include`);
    }
    screen.querySelector(".progress").textContent = progress.join(" · ");
  }

  function show(shown) {
    current = shown;
    const record = screen.querySelector(".record");
    if (!current) {
      record.querySelector(".title").textContent = "Nothing left for you at this stage.";
      record.querySelector(".meta").textContent = "";
      record.querySelector(".abstract").textContent = "";
      return;
    }
    record.dataset.id = current.id;
    record.querySelector(".title").textContent = current.title || "(no title)";
    const authors = current.authors.slice(0, 3).join(", ") + (current.authors.length > 3 ? " et al." : "");
    record.querySelector(".meta").textContent =
      [authors, current.year, current.journal, current.source, current.id].filter(Boolean).join(" · ");
    record.querySelector(".abstract").textContent = current.abstract || "(no abstract)";
  }

  async function decide(verdict) {
    if (!current || busy) return;
    const body = { verdict, stage };
    if (verdict === "exclude" && stage === "eligibility") {
      const listed = reasons.map((r, i) => `${i + 1}. ${r}`).join("\n");
      const chosen = window.prompt(`Why is it excluded?\n${listed}`, "1");
      const index = Number.parseInt(chosen, 10) - 1;
      if (!(index >= 0 && index < reasons.length)) return;
      body.reason = reasons[index];
    }
    busy = true;
    try {
      const decided = current.id;
      await api("POST", `/api/projects/${project}/records/${decided}/decisions`, body);
      decidedHere.push(decided);
      await load();
      // Said once the next record is shown: the page is ready for the next key.
      say(screen, `${decided}: ${verdict}`);
    } catch (error) {
      say(screen, error.message, true);
    } finally {
      busy = false;
    }
  }

  async function undo() {
    if (busy) return;
    if (decidedHere.length === 0) {
      say(screen, "nothing decided on this page to undo", true);
      return;
    }
    busy = true;
    // Taken off the stack even when refused: a refusal (someone decided since, or it became a
    // study) stands, and the next `u` goes on to the decision before it.
    const undone = decidedHere.pop();
    try {
      const answer = await api("POST", `/api/projects/${project}/records/${undone}/undo`);
      show(answer.record); // the undone record again, to be decided anew
      showProgress(await api("GET", `/api/projects/${project}/queue?stage=${stage}&limit=1`));
      say(screen, `${undone}: undone`);
    } catch (error) {
      say(screen, error.message, true);
    } finally {
      busy = false;
    }
  }

  const keys = { i: "include", e: "exclude", m: "maybe" };
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey) return;
    if (event.key === "u") {
      event.preventDefault();
      undo();
      return;
    }
    const verdict = keys[event.key];
    if (verdict && (verdict !== "maybe" || stage === "screening")) {
      event.preventDefault();
      decide(verdict);
    }
  });
  for (const button of screen.querySelectorAll("[data-verdict]")) {
    button.addEventListener("click", () => decide(button.dataset.verdict));
  }
  const undoButton = screen.querySelector('[data-action="undo"]');
  if (undoButton) undoButton.addEventListener("click", () => undo());
  load().catch((error) => say(screen, error.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  wireSignIn();
  wireSignOut();
  wireImport();
  wireScreening();
});
