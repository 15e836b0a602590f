// openbook's web page: ask, see answers highlighted in their passages, manage documents. No dependencies.
"use strict";

const $ = (selector) => document.querySelector(selector);
const TOKEN_KEY = "openbook-token";
const LISTED = 500; // documents listed on the page

// --- talking to the API --------------------------------------------------------------------------------------------
function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: "Bearer " + token } : {};
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = {};
  try { data = await response.json(); } catch (e) { /* not JSON: keep the status text */ }
  if (response.status === 401) askForToken();
  if (!response.ok) throw new ApiError(response.status, data.error || response.statusText);
  return data;
}

function askForToken() {
  const form = $("#token-form");
  if (form.hidden) { form.hidden = false; $("#token").focus(); }
}

// --- building DOM safely (text only, never HTML from data) ---------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function basename(path) {
  return String(path || "").split(/[\\/]/).pop();
}

const CONTEXT = 260; // characters of the passage shown on each side of the answer

// Where to cut ``text`` near ``at``, moved to a space so no word is split.
function cut(text, at, forward) {
  if (at <= 0) return 0;
  if (at >= text.length) return text.length;
  const space = forward ? text.indexOf(" ", at) : text.lastIndexOf(" ", at);
  return space < 0 ? at : space;
}

// The passage around the answer's characters [start, end), the answer in a <mark>; "…" where it is cut.
function highlighted(text, start, end) {
  const inside = start >= 0 && end <= text.length && start < end;
  if (!inside) return el("p", { class: "passage" }, text);
  const from = cut(text, start - CONTEXT, false), to = cut(text, end + CONTEXT, true);
  return el("p", { class: "passage" }, from > 0 ? "… " : "", text.slice(from, start).trimStart(),
    el("mark", {}, text.slice(start, end)), text.slice(end, to).trimEnd(), to < text.length ? " …" : "");
}

function sourceLine(passage) {
  const parts = [];
  if (passage.title) parts.push(passage.title);
  const file = basename(passage.source || passage.doc_id);
  if (file && file !== passage.title) parts.push(file);
  const meta = passage.metadata || {};
  if (meta.page !== undefined && meta.page !== null) {
    parts.push(meta.last_page && meta.last_page !== meta.page ? `pages ${meta.page}–${meta.last_page}`
      : "page " + meta.page);
  }
  if (meta.section && meta.section !== passage.title) parts.push("§ " + meta.section);
  return parts.join(" · ");
}

// The answer's calibrated confidence (a probability), as a whole percentage.
function confidenceText(answer) {
  if (typeof answer.confidence === "number") return "confidence " + Math.round(answer.confidence * 100) + "%";
  return "score " + Number(answer.score).toFixed(2);
}

function renderAnswers(data) {
  const results = $("#results");
  results.replaceChildren();
  const answers = data.answers || [];
  const abstained = answers.length === 0 || answers[0].abstain === true;
  if (abstained) {
    results.append(el("p", { class: "notice", id: "not-found" },
      answers.length ? "Not in your documents. The best guess is below, with its confidence."
        : "Not in your documents" + (data.where ? " that pass the filters." : ".")));
  }
  const list = el("ol", { class: "answers" });
  answers.forEach((answer) => {
    const passage = answer.passage || {};
    const guess = answer.abstain === true;
    list.append(el("li", { class: "answer" + (guess ? " guess" : "") },
      el("h3", {}, guess ? el("span", { class: "tag" }, "best guess") : null, answer.answer),
      el("p", { class: "meta" },
        el("span", { class: "confidence" }, confidenceText(answer)), " · ",
        el("span", { class: "source" }, sourceLine(passage))),
      highlighted(passage.text || "", answer.start, answer.end)));
  });
  results.append(list);
}

function showError(target, error) {
  target.replaceChildren(el("p", { class: "error", role: "alert" }, error.message || String(error)));
}

// --- asking --------------------------------------------------------------------------------------------------------
function askBody() {
  const body = { question: $("#question").value, mode: $("#mode").value, k: Number($("#k").value) || undefined,
    top_answers: Number($("#top").value) || undefined };
  const min = $("#min-confidence").value;
  if (min !== "") body.min_confidence = Number(min);
  const filters = $("#filters").value.split(";").map((c) => c.trim()).filter(Boolean);
  if (filters.length) body.where = filters;
  return body;
}

async function ask(event) {
  event.preventDefault();
  const button = $("#ask-button");
  if (!$("#question").value.trim()) return;
  button.disabled = true;
  $("#results").setAttribute("aria-busy", "true");
  try {
    renderAnswers(await api("POST", "/ask", askBody()));
  } catch (error) {
    showError($("#results"), error);
  } finally {
    button.disabled = false;
    $("#results").removeAttribute("aria-busy");
  }
}

// --- documents -----------------------------------------------------------------------------------------------------
async function loadDocuments() {
  const body = $("#document-table tbody");
  try {
    const params = new URLSearchParams({ limit: LISTED });
    const where = $("#document-filter").value.trim();
    if (where) params.append("where", where);
    const data = await api("GET", "/documents?" + params);
    const total = Number(($("#status").dataset.documents)) || data.count;
    $("#documents-title").textContent = where ? `Documents (${data.count} passing the filter)`
      : data.count < total ? `Documents (first ${data.count} of ${total})` : `Documents (${data.count})`;
    body.replaceChildren(...data.documents.map(documentRow));
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "error" }, error.message)));
  }
}

function documentRow(doc) {
  const title = doc.title || doc.id;
  const button = el("button", { type: "button", class: "secondary remove", "aria-label": "Remove " + title,
    "data-id": doc.id }, "Remove");
  button.addEventListener("click", () => removeDocument(doc.id, title));
  return el("tr", { "data-id": doc.id }, el("td", {}, title),
    el("td", { class: "source" }, basename(doc.source) || doc.id),
    el("td", {}, doc.passages ?? ""), el("td", {}, button));
}

async function removeDocument(id, title) {
  if (!window.confirm(`Remove "${title}" from the index?`)) return;
  const status = $("#upload-status");
  try {
    await api("DELETE", "/documents/" + encodeURIComponent(id));
    status.textContent = `Removed ${title}.`;
  } catch (error) {
    status.textContent = error.message;
  }
  await refreshDocuments();
}

async function refreshDocuments() {
  try { await loadInfo(); } catch (error) { $("#status").textContent = error.message; }
  await loadDocuments();
}

function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  const xhr = new XMLHttpRequest();
  const box = $("#upload-progress"), bar = $("#progress"), text = $("#progress-text"), status = $("#upload-status");
  box.hidden = false; bar.value = 0; text.textContent = "Uploading…"; status.textContent = "";
  xhr.open("POST", "/documents");
  for (const [key, value] of Object.entries(authHeaders())) xhr.setRequestHeader(key, value);
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    bar.value = e.loaded / e.total;
    text.textContent = e.loaded < e.total ? `Uploading ${Math.round(100 * bar.value)}%` : "Indexing…";
  };
  xhr.onload = async () => {
    box.hidden = true;
    let data = {};
    try { data = JSON.parse(xhr.responseText); } catch (e) { /* keep the status */ }
    if (xhr.status === 401) askForToken();
    if (xhr.status >= 200 && xhr.status < 300) {
      const added = data.documents_added + data.documents_updated;
      const passages = data.passages_added;
      status.textContent = added === 0 ? "Already indexed: nothing changed."
        : `Indexed ${added} document${added === 1 ? "" : "s"} (${passages} passage${passages === 1 ? "" : "s"}).`;
    } else {
      status.textContent = data.error || `Upload failed (${xhr.status}).`;
    }
    await refreshDocuments();
  };
  xhr.onerror = () => { box.hidden = true; status.textContent = "Upload failed: the server could not be reached."; };
  xhr.send(form);
}

function setUpDrop() {
  const drop = $("#drop");
  const input = $("#files");
  input.addEventListener("change", () => { upload([...input.files]); input.value = ""; });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); });
  }
  drop.addEventListener("drop", (e) => upload([...e.dataTransfer.files]));
}

// --- start-up ------------------------------------------------------------------------------------------------------
async function loadInfo() {
  const info = await api("GET", "/info");
  $("#status").textContent = `${info.index}: ${info.documents} documents, ${info.passages} passages`;
  $("#status").dataset.documents = info.documents;
  return info;
}

async function waitUntilReady() {
  for (;;) {
    try {
      await api("GET", "/ready");
      return;
    } catch (error) {
      $("#status").textContent = error.status === 503 ? error.message : "Waiting for the server: " + error.message;
      if (error.status === 401) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function start() {
  await waitUntilReady();
  try {
    const info = await loadInfo();
    if (info.mode) $("#mode").value = info.mode;
    if (info.k) $("#k").value = info.k;
    if (info.top_answers) $("#top").value = info.top_answers;
  } catch (error) {
    $("#status").textContent = error.message;
  }
  await loadDocuments();
  document.body.dataset.ready = "true";
}

$("#ask-form").addEventListener("submit", ask);
$("#document-filter-form").addEventListener("submit", (event) => { event.preventDefault(); loadDocuments(); });
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value);
  $("#token-form").hidden = true;
  start();
});
setUpDrop();
start();
