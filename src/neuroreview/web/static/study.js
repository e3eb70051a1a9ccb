// The study editor and the studies list's "new study" form, over the REST API.
// The page names where to load the study document from and where to save it (the study, or
// the reader's own extraction), so both modes share this script. The document is kept as one
// object; inputs write into it by their data-path (the same dotted path the API's 422 errors
// name, so each message lands next to its input), and a save sends it whole.
"use strict";

const studyCsrf = () => document.querySelector('meta[name="csrf-token"]').content;

async function send(method, url, body) {
  const options = { method, headers: { "X-CSRF-Token": studyCsrf() } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const answer = await fetch(url, options);
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_error) {
    data = { detail: text };
  }
  return { ok: answer.ok, status: answer.status, data };
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => (d.path ? `${d.path}: ` : "") + (d.message || d.msg || JSON.stringify(d))).join("; ");
  }
  return JSON.stringify(detail);
}

function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const STUDY_FIELDS = [
  ["title", "Title", "textarea"],
  ["authors", "Authors (one per line)", "lines"],
  ["year", "Year", "int"],
  ["journal", "Journal", "text"],
  ["doi", "DOI", "text"],
  ["pmid", "PMID", "text"],
  ["population", "Population", "enum"],
  ["n_subjects", "Subjects (n)", "int"],
  ["design", "Design", "text"],
  ["drug", "Drug", "text"],
  ["dose", "Dose", "text"],
  ["route", "Route", "text"],
  ["modality", "Modality", "enum"],
  ["timing", "Timing", "enum"],
  ["exposure", "Exposure", "enum"],
  ["record_id", "Screened record", "text"],
  ["notes", "Notes", "textarea"],
];

const ANALYSIS_FIELDS = [
  ["id", "Id", "text", { required: true }],
  ["name", "Name", "text", { blank: "" }],
  ["contrast", "Contrast", "text"],
  ["space", "Space", "enum"],
  ["direction", "Direction", "enum"],
  ["kind", "Kind", "enum"],
  ["measure", "Measure", "enum"],
  ["subject_group", "Subject group", "text"],
  ["n_subjects", "Subjects (n)", "int"],
];

const FOCUS_FIELDS = [
  ["x", "x", "number"],
  ["y", "y", "number"],
  ["z", "z", "number"],
  ["stat_kind", "stat", "enum", { choices: "stat_kind", optional: true }],
  ["stat_value", "value", "number"],
  ["label", "authors' label", "text"],
];

const FINDING_FIELDS = [
  ["region", "Region", "text", { required: true }],
  ["region_raw", "As the authors name it", "text"],
  ["direction", "Direction", "enum"],
  ["kind", "Kind", "enum"],
  ["measure", "Measure", "enum"],
  ["contrast", "Contrast", "text"],
];

const EFFECT_FIELDS = [
  ["kind", "effect", "enum", { choices: "effect_kind", optional: true }],
  ["value", "value", "number"],
  ["variance", "variance", "number"],
  ["n", "n", "int"],
];

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

// A form value as the document holds it: empty is null (unknown stays unknown), numbers are
// numbers, and text that is no number is sent as typed so the server names the problem.
function coerce(type, raw, options = {}) {
  if (type === "lines") return raw.split("\n").map((s) => s.trim()).filter(Boolean);
  const text = raw.trim();
  if (text === "") return options.blank !== undefined ? options.blank : null;
  if ((type === "number" || type === "int") && NUMBER.test(text)) return Number(text);
  return raw;
}

function shown(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join("\n");
  return String(value);
}

function setPath(object, path, value) {
  const keys = path.split(".");
  let target = object;
  for (const key of keys.slice(0, -1)) target = target[key];
  target[keys[keys.length - 1]] = value;
}

function getPath(object, path) {
  return path.split(".").reduce((target, key) => (target == null ? undefined : target[key]), object);
}

function wireStudyEditor() {
  const root = document.getElementById("study-editor");
  if (!root) return;
  const config = root.dataset;
  const choices = JSON.parse(config.choices);
  let editable = config.editable === "true";
  const mode = config.mode;
  let doc = null;
  let notes = [];
  let flags = [];
  let dirty = false;
  let selected = null;
  let checkTimer = null;
  let checking = 0;

  const status = root.querySelector(".status");
  const message = root.querySelector(".toolbar .message");

  function say(text, failed = false) {
    message.textContent = text;
    message.classList.toggle("failed", failed);
  }

  function markDirty() {
    dirty = true;
    status.textContent = "unsaved changes";
  }

  // --- inputs --------------------------------------------------------------------------
  function input(path, type, value, options = {}) {
    let node;
    if (type === "enum") {
      node = el("select", { "data-path": path, "data-type": type });
      const list = choices[options.choices || path.split(".").pop()] || [];
      if (options.optional) node.append(el("option", { value: "", text: "" }));
      for (const choice of list) node.append(el("option", { value: choice, text: choice }));
      if (value !== null && value !== undefined && !list.includes(value)) {
        node.append(el("option", { value, text: value }));
      }
      node.value = value === null || value === undefined ? "" : value;
      if (!editable) node.disabled = true;
    } else if (type === "textarea" || type === "lines" || type === "source") {
      node = el("textarea", { "data-path": path, "data-type": type, rows: type === "source" ? 2 : 2 });
      node.value = shown(value);
      if (!editable) node.readOnly = true;
    } else {
      node = el("input", {
        "data-path": path,
        "data-type": type,
        inputmode: type === "number" ? "decimal" : type === "int" ? "numeric" : null,
        size: type === "number" || type === "int" ? 6 : null,
        required: options.required,
      });
      node.value = shown(value);
      if (!editable) node.readOnly = true;
    }
    if (options.blank !== undefined) node.dataset.blank = options.blank;
    if (options.label) node.setAttribute("aria-label", options.label);
    return node;
  }

  function sourceInput(key, label) {
    const node = input(`provenance.${key}`, "source", (doc.provenance || {})[key], {
      label: `source of ${label}`,
    });
    node.classList.add("source");
    node.placeholder = editable ? "source: page, table, quote" : "";
    return node;
  }

  // --- rendering -----------------------------------------------------------------------
  function renderMetadata() {
    const box = root.querySelector(".metadata .fields");
    box.replaceChildren();
    const table = el("table", { className: "field-table" }, [
      el("thead", {}, el("tr", {}, [el("th", { text: "Field" }), el("th", { text: "Value" }), el("th", { text: "Source" })])),
    ]);
    const body = el("tbody");
    for (const [key, label, type] of STUDY_FIELDS) {
      body.append(
        el("tr", {}, [
          el("th", { scope: "row" }, el("label", { text: label })),
          el("td", {}, input(key, type, doc[key], { label })),
          el("td", {}, sourceInput(key, label)),
        ]),
      );
    }
    table.append(body);
    box.append(table);
    const known = new Set(STUDY_FIELDS.map(([key]) => key).concat(["foci", "region_findings"]));
    const others = Object.keys(doc.provenance || {}).filter((key) => !known.has(key));
    if (others.length) {
      const list = el("dl", { className: "other-sources" });
      for (const key of others) {
        list.append(el("dt", { text: key }), el("dd", {}, sourceInput(key, key)));
      }
      box.append(el("h3", { text: "Other sources" }), list);
    }
  }

  // Where a focus lands: its MNI coordinate when reported in another space, its AAL3 label,
  // and the warnings (outside the brain, the corpus check's flag).
  function landsCell(a, f) {
    const note = (notes[a] || [])[f];
    const analysis = doc.analyses[a];
    const cell = el("td", { className: "lands" });
    if (!note) {
      cell.append(el("span", { className: "pending", text: "not checked yet" }));
      return cell;
    }
    if (note.mni === null) {
      cell.append(el("span", { className: "warn", text: "space unknown: not placed" }));
      return cell;
    }
    if (analysis.space !== "MNI") {
      cell.append(el("span", { className: "mni", text: `MNI ${note.mni.map((v) => v.toFixed(1)).join(", ")}` }));
    }
    const label = note.aal3 === null ? "no AAL3 label within 5 mm"
      : note.aal3 + (note.aal3_distance_mm ? ` (${note.aal3_distance_mm} mm away)` : "");
    cell.append(el("span", { className: note.aal3 === null ? "aal3 none" : "aal3", text: label }));
    if (note.outside_brain) {
      cell.append(el("span", { className: "warn outside", text: `outside the brain by ${note.distance_mm} mm` }));
    }
    if (note.flag) cell.append(el("span", { className: "warn flag", text: note.flag }));
    return cell;
  }

  function renderFocusRow(a, f) {
    const focus = doc.analyses[a].foci[f];
    const row = el("tr", { className: "focus-row", "data-analysis": a, "data-focus": f, tabindex: -1 });
    row.append(el("td", { className: "number", text: String(f + 1) }));
    for (const [key, label, type, options = {}] of FOCUS_FIELDS) {
      row.append(el("td", {}, input(`analyses.${a}.foci.${f}.${key}`, type, focus[key], { ...options, label: `focus ${f + 1} ${label}` })));
    }
    row.append(landsCell(a, f));
    if (editable) {
      row.append(el("td", {}, el("button", { type: "button", className: "small", "data-action": "remove-focus", title: `remove focus ${f + 1}`, "aria-label": `remove focus ${f + 1}`, text: "✕" })));
    }
    if (selected && selected.a === a && selected.f === f) row.classList.add("selected");
    return row;
  }

  function renderAnalysis(a) {
    const analysis = doc.analyses[a];
    const card = el("fieldset", { className: "analysis", "data-analysis": a, "data-path": `analyses.${a}` });
    card.append(el("legend", { text: `Analysis ${a + 1}: ${analysis.id || "(no id)"}` }));
    const grid = el("div", { className: "analysis-fields" });
    for (const [key, label, type, options = {}] of ANALYSIS_FIELDS) {
      grid.append(el("label", {}, [label, input(`analyses.${a}.${key}`, type, analysis[key], { ...options, label })]));
    }
    card.append(grid);
    card.append(el("label", { className: "source-label" }, [
      "Source and notes (table, page, quote)",
      input(`analyses.${a}.notes`, "source", analysis.notes, { label: "analysis source and notes" }),
    ]));
    const head = el("tr", {}, [el("th", { text: "#" })]
      .concat(FOCUS_FIELDS.map(([, label]) => el("th", { text: label })))
      .concat([el("th", { text: "where it lands (AAL3)" })])
      .concat(editable ? [el("th")] : []));
    const body = el("tbody");
    analysis.foci.forEach((_focus, f) => body.append(renderFocusRow(a, f)));
    const table = el("table", { className: "foci", "data-path": `analyses.${a}.foci` }, [el("thead", {}, head), body]);
    card.append(el("div", { className: "foci-scroll" }, table));
    if (editable) {
      card.append(el("div", { className: "actions" }, [
        el("button", { type: "button", "data-action": "add-focus", text: "Add focus" }),
        el("button", { type: "button", "data-action": "remove-analysis", className: "danger", text: "Remove analysis" }),
      ]));
    }
    return card;
  }

  function renderAnalyses() {
    const box = root.querySelector(".analysis-list");
    box.replaceChildren();
    const section = root.querySelector(".analyses");
    section.querySelector(".section-source")?.remove();
    section.insertBefore(el("label", { className: "section-source" }, ["Source of the coordinates", sourceInput("foci", "the coordinates")]), box);
    if (!doc.analyses.length) box.append(el("p", { text: "No coordinate analyses." }));
    doc.analyses.forEach((_analysis, a) => box.append(renderAnalysis(a)));
    if (editable) box.append(el("button", { type: "button", "data-action": "add-analysis", text: "Add analysis" }));
  }

  function renderFinding(r) {
    const finding = doc.region_findings[r];
    const card = el("fieldset", { className: "finding", "data-finding": r, "data-path": `region_findings.${r}` });
    card.append(el("legend", { text: `Finding ${r + 1}: ${finding.region || "(no region)"}` }));
    const values = el("div", { className: "finding-values" });
    for (const [key, label, type, options = {}] of FINDING_FIELDS) {
      values.append(el("label", {}, [label, input(`region_findings.${r}.${key}`, type, finding[key], { ...options, label })]));
    }
    const effect = finding.effect_size || {};
    const effectBox = el("fieldset", { className: "effect", "data-path": `region_findings.${r}.effect_size`, "data-finding": r });
    effectBox.append(el("legend", { text: "Effect size" }));
    for (const [key, label, type, options = {}] of EFFECT_FIELDS) {
      effectBox.append(el("label", {}, [label, input(`region_findings.${r}.effect_size.${key}`, type, effect[key], { ...options, label: `effect ${label}` })]));
    }
    values.append(effectBox);
    const quote = el("label", { className: "quote" }, [
      "Source quote and notes",
      input(`region_findings.${r}.notes`, "source", finding.notes, { label: "source quote and notes" }),
    ]);
    quote.querySelector("textarea").rows = 6;
    card.append(el("div", { className: "finding-grid" }, [values, quote]));
    if (editable) {
      card.append(el("button", { type: "button", "data-action": "remove-finding", className: "danger", text: "Remove finding" }));
    }
    return card;
  }

  function renderFindings() {
    const box = root.querySelector(".finding-list");
    box.replaceChildren();
    const section = root.querySelector(".findings");
    section.querySelector(".section-source")?.remove();
    section.insertBefore(el("label", { className: "section-source" }, ["Source of the region findings", sourceInput("region_findings", "the region findings")]), box);
    if (!doc.region_findings.length) box.append(el("p", { text: "No region findings." }));
    doc.region_findings.forEach((_finding, r) => box.append(renderFinding(r)));
    if (editable) box.append(el("button", { type: "button", "data-action": "add-finding", text: "Add region finding" }));
  }

  function renderFlags() {
    const section = root.querySelector(".flags");
    const list = section.querySelector(".flag-list");
    list.replaceChildren();
    section.querySelector(".no-flags").textContent = flags.length
      ? `${flags.length} focus/foci flagged: check them against the paper.`
      : "No focus flagged: every placed focus lies within kernel reach of the brain, none is repeated.";
    section.classList.toggle("flagged", flags.length > 0);
    for (const flag of flags) {
      const a = doc.analyses.findIndex((analysis) => analysis.id === flag.analysis_id);
      const text = `${flag.analysis_id}, focus ${flag.focus_index + 1} (${flag.x}, ${flag.y}, ${flag.z} ${flag.space}): ${flag.reason}`
        + (flag.distance_mm ? `, ${flag.distance_mm} mm from the brain` : "")
        + (flag.leaves ? " (left out of the meta-analysis)" : "");
      const item = el("li", {}, el("button", { type: "button", className: "link", text }));
      item.querySelector("button").addEventListener("click", () => {
        if (a >= 0) select(a, flag.focus_index, true);
      });
      list.append(item);
    }
  }

  function renderAll() {
    renderMetadata();
    renderAnalyses();
    renderFindings();
    renderFlags();
    showGlass();
  }

  function refreshNotes() {
    for (const row of root.querySelectorAll(".focus-row")) {
      const a = Number(row.dataset.analysis);
      const f = Number(row.dataset.focus);
      row.querySelector(".lands").replaceWith(landsCell(a, f));
    }
    renderFlags();
    showGlass();
  }

  // --- the glass brain -------------------------------------------------------------------
  function showGlass() {
    const image = root.querySelector(".glass-brain");
    const caption = root.querySelector(".glass-caption");
    const note = selected ? (notes[selected.a] || [])[selected.f] : null;
    const analysis = selected ? doc.analyses[selected.a] : null;
    const focus = analysis ? analysis.foci[selected.f] : null;
    let source;
    if (mode === "study" && !dirty) {
      const query = note && note.mni ? `?analysis=${encodeURIComponent(analysis.id)}&focus=${selected.f}` : "";
      source = config.glassUrl + query;
    } else {
      const points = [];
      let highlight = null;
      notes.forEach((list, a) => (list || []).forEach((n, f) => {
        if (!n || !n.mni) return;
        if (selected && selected.a === a && selected.f === f) highlight = points.length;
        points.push(n.mni.join(","));
      }));
      source = `${config.pointsGlassUrl}?points=${encodeURIComponent(points.join(";"))}`
        + (highlight === null ? "" : `&highlight=${highlight}`);
    }
    if (image.getAttribute("src") !== source) image.setAttribute("src", source);
    if (!focus) {
      caption.textContent = "Click a focus row to show it.";
      return;
    }
    const reported = `${analysis.id}, focus ${selected.f + 1}: (${shown(focus.x)}, ${shown(focus.y)}, ${shown(focus.z)}) ${analysis.space}`;
    if (!note) {
      caption.textContent = `${reported}: not checked yet.`;
    } else if (!note.mni) {
      caption.textContent = `${reported}: the analysis's space is unknown, so the focus cannot be placed.`;
    } else {
      const parts = [reported];
      if (analysis.space !== "MNI") parts.push(`MNI (${note.mni.join(", ")})`);
      parts.push(`AAL3: ${note.aal3 || "no label within 5 mm"}`);
      if (focus.label) parts.push(`authors: ${focus.label}`);
      if (note.outside_brain) parts.push(`outside the brain by ${note.distance_mm} mm`);
      caption.textContent = parts.join(" · ");
    }
    caption.classList.toggle("failed", Boolean(note && note.outside_brain));
  }

  function select(a, f, scroll = false) {
    selected = { a, f };
    for (const row of root.querySelectorAll(".focus-row.selected")) row.classList.remove("selected");
    const row = root.querySelector(`.focus-row[data-analysis="${a}"][data-focus="${f}"]`);
    if (row) {
      row.classList.add("selected");
      if (scroll) row.scrollIntoView({ block: "center" });
    }
    showGlass();
  }

  // --- errors in place --------------------------------------------------------------------
  function clearErrors() {
    for (const node of root.querySelectorAll(".field-error")) node.remove();
    for (const node of root.querySelectorAll(".invalid")) node.classList.remove("invalid");
    root.querySelector(".errors").replaceChildren();
  }

  function showErrors(errors) {
    clearErrors();
    const unplaced = root.querySelector(".errors");
    for (const raw of errors) {
      // Ours are {path, message}; FastAPI's own (a body that is no JSON object) {loc, msg}.
      const error = { path: raw.path || "", message: raw.message || raw.msg || JSON.stringify(raw) };
      let path = error.path;
      let target = null;
      while (path && !target) {
        target = root.querySelector(`[data-path="${CSS.escape(path)}"]`);
        if (!target) path = path.split(".").slice(0, -1).join(".");
      }
      const text = error.path && path !== error.path ? `${error.path}: ${error.message}` : error.message;
      if (!target) {
        unplaced.append(el("li", { text: error.path ? `${error.path}: ${error.message}` : error.message }));
        continue;
      }
      target.classList.add("invalid");
      const row = target.closest("tr.focus-row");
      if (row && target !== row) {
        // A focus's messages go in a row of their own below it, named by column, so the
        // narrow coordinate cells keep their width.
        let errorRow = row.nextElementSibling;
        if (!errorRow || !errorRow.matches("tr.field-error")) {
          errorRow = el("tr", { className: "field-error" }, el("td", { colspan: row.children.length }));
          row.after(errorRow);
        }
        const column = error.path.split(".").pop();
        errorRow.firstChild.append(el("span", { role: "alert", text: `${column}: ${text}` }));
        continue;
      }
      const note = el("span", { className: "field-error", role: "alert", text });
      if (target.matches("fieldset")) (target.querySelector("legend") || target).after(note);
      else target.after(note);
    }
    const first = root.querySelector(".invalid");
    if (first && first.focus) first.focus({ preventScroll: false });
  }

  // --- loading, checking, saving ------------------------------------------------------------
  function adopt(data) {
    // The extraction routes answer the document itself (with "submitted"); the study routes
    // wrap it with the notes and flags.
    const wrapped = data && typeof data.study === "object" && data.study !== null;
    const document = wrapped ? data.study : { ...data };
    const submitted = !wrapped && document.submitted === true;
    delete document.submitted;
    doc = document;
    doc.provenance = doc.provenance || {};
    doc.analyses = doc.analyses || [];
    doc.region_findings = doc.region_findings || [];
    if (wrapped && data.foci_notes) {
      notes = data.foci_notes.map((entry) => entry.foci);
      flags = data.flags || [];
    } else {
      notes = doc.analyses.map(() => []);
    }
    return { wrapped, submitted };
  }

  async function check() {
    if (!doc) return;
    const asked = ++checking;
    const answer = await send("POST", config.checkUrl, doc);
    if (asked !== checking) return; // a later edit asked again
    if (answer.ok) {
      notes = answer.data.foci_notes.map((entry) => entry.foci);
      flags = answer.data.flags;
      clearErrors();
      refreshNotes();
    } else if (answer.status === 422 && Array.isArray(answer.data.detail)) {
      showErrors(answer.data.detail);
    }
  }

  function checkSoon() {
    window.clearTimeout(checkTimer);
    checkTimer = window.setTimeout(() => check().catch(() => {}), 350);
  }

  // A submitted extraction is read only until its reviewer reopens it.
  function lock() {
    editable = false;
    for (const button of root.querySelectorAll('[data-action="save"], [data-action="submit"]')) button.hidden = true;
    status.textContent = "submitted: read only until you reopen it";
  }

  async function load() {
    const answer = await send("GET", config.loadUrl);
    if (!answer.ok) {
      say(detailText(answer.data && answer.data.detail), true);
      return;
    }
    const { wrapped, submitted } = adopt(answer.data);
    dirty = false;
    if (submitted) lock();
    renderAll();
    if (!wrapped) await check();
  }

  async function save(submit = false) {
    say("");
    const url = config.saveUrl + (submit ? "?submit=true" : "");
    const answer = await send("PUT", url, doc);
    if (answer.status === 422 && Array.isArray(answer.data.detail)) {
      showErrors(answer.data.detail);
      say("Not saved: correct the fields marked.", true);
      return;
    }
    if (!answer.ok) {
      say(`Not saved: ${detailText(answer.data && answer.data.detail)}`, true);
      return;
    }
    const { wrapped, submitted } = adopt(answer.data);
    dirty = false;
    status.textContent = "";
    if (submitted) lock();
    clearErrors();
    renderAll();
    if (!wrapped) await check();
    const change = answer.data.change_id;
    say(submit ? "Saved and submitted." : change ? `Saved (change ${change}).` : "Saved.");
  }

  // --- events ------------------------------------------------------------------------------
  function effectFrom(fieldset) {
    const effect = {};
    for (const node of fieldset.querySelectorAll("[data-path]")) {
      effect[node.dataset.path.split(".").pop()] = coerce(node.dataset.type, node.value);
    }
    return Object.values(effect).every((v) => v === null) ? null : effect;
  }

  function write(node) {
    const path = node.dataset.path;
    if (path.startsWith("provenance.")) {
      const key = path.slice("provenance.".length);
      const value = node.value.trim();
      if (value) doc.provenance[key] = node.value;
      else delete doc.provenance[key];
    } else if (node.closest("fieldset.effect")) {
      const fieldset = node.closest("fieldset.effect");
      doc.region_findings[Number(fieldset.dataset.finding)].effect_size = effectFrom(fieldset);
    } else {
      const options = node.dataset.blank !== undefined ? { blank: node.dataset.blank } : {};
      setPath(doc, path, coerce(node.dataset.type, node.value, options));
    }
    markDirty();
  }

  root.addEventListener("input", (event) => {
    const node = event.target.closest("[data-path]");
    if (node && doc && editable && node.matches("input, textarea, select")) write(node);
  });
  root.addEventListener("change", (event) => {
    const node = event.target.closest("[data-path]");
    if (!node || !doc || !editable || !node.matches("input, textarea, select")) return;
    write(node);
    checkSoon();
  });
  root.addEventListener("focusin", (event) => {
    const row = event.target.closest(".focus-row");
    if (row) select(Number(row.dataset.analysis), Number(row.dataset.focus));
  });
  root.addEventListener("click", (event) => {
    const row = event.target.closest(".focus-row");
    if (row && !event.target.closest("button")) select(Number(row.dataset.analysis), Number(row.dataset.focus));
    const button = event.target.closest("button[data-action]");
    if (!button || !doc) return;
    const action = button.dataset.action;
    const analysis = button.closest("[data-analysis]");
    const a = analysis ? Number(analysis.dataset.analysis) : null;
    if (action === "save") save().catch((error) => say(error.message, true));
    else if (action === "submit") {
      if (window.confirm("Submit your extraction? It can no longer be edited until you reopen it.")) {
        save(true).catch((error) => say(error.message, true));
      }
    } else if (action === "delete") remove().catch((error) => say(error.message, true));
    else if (action === "add-focus") {
      doc.analyses[a].foci.push({ x: null, y: null, z: null });
      (notes[a] = notes[a] || []).push(null);
      restructure();
    } else if (action === "remove-focus") {
      const f = Number(button.closest(".focus-row").dataset.focus);
      doc.analyses[a].foci.splice(f, 1);
      (notes[a] || []).splice(f, 1);
      selected = null;
      restructure();
    } else if (action === "add-analysis") {
      const ids = new Set(doc.analyses.map((x) => x.id));
      let n = doc.analyses.length + 1;
      while (ids.has(`analysis-${n}`)) n += 1;
      doc.analyses.push({
        id: `analysis-${n}`, name: "", direction: "unknown", kind: "drug_effect",
        measure: "other", space: "MNI", foci: [{ x: null, y: null, z: null }],
      });
      notes.push([null]);
      restructure();
    } else if (action === "remove-analysis") {
      if (!window.confirm(`Remove analysis ${doc.analyses[a].id} and its ${doc.analyses[a].foci.length} foci?`)) return;
      doc.analyses.splice(a, 1);
      notes.splice(a, 1);
      selected = null;
      restructure();
    } else if (action === "add-finding") {
      doc.region_findings.push({ region: "", direction: "unknown", kind: "drug_effect", measure: "other" });
      restructure();
    } else if (action === "remove-finding") {
      const r = Number(button.closest("[data-finding]").dataset.finding);
      doc.region_findings.splice(r, 1);
      restructure();
    }
  });

  function restructure() {
    markDirty();
    clearErrors();
    renderAnalyses();
    renderFindings();
    renderFlags();
    showGlass();
  }

  async function remove() {
    if (!window.confirm(`Delete study ${config.study}? The change is recorded and can be undone.`)) return;
    const answer = await send("DELETE", config.deleteUrl);
    if (!answer.ok) {
      say(detailText(answer.data && answer.data.detail), true);
      return;
    }
    dirty = false;
    window.location = config.listUrl;
  }

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s" && editable) {
      event.preventDefault();
      document.activeElement?.blur?.();
      save().catch((error) => say(error.message, true));
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty && editable) event.preventDefault();
  });

  load().catch((error) => say(error.message, true));
}

function wireNewStudy() {
  const form = document.getElementById("new-study");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = form.elements.id.value.trim();
    const title = form.elements.title.value.trim();
    const answer = await send("POST", `/api/projects/${form.dataset.project}/studies`, { id, title: title || null });
    const message = form.querySelector(".message");
    if (!answer.ok) {
      message.textContent = detailText(answer.data && answer.data.detail);
      message.classList.add("failed");
      return;
    }
    window.location = `/p/${form.dataset.project}/studies/${encodeURIComponent(answer.data.study.id)}`;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wireStudyEditor();
  wireNewStudy();
});
