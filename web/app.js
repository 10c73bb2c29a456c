// newsdesk search page. Plain script, no build step.
//
// Two rules hold everywhere below:
//   1. Article text (titles, passages, outlets, authors, URLs) enters the DOM only as text:
//      textContent / createTextNode, never innerHTML or insertAdjacentHTML.
//   2. Only http: and https: URLs become links; anything else is shown as plain text.
// The search state (query, outlets, dates, page) lives in the URL, so a search can be linked
// and Back / Forward replay it.
"use strict";

(() => {
  const PAGE_SIZE = 10;
  const RELATED_K = 5;

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("search-form"),
    q: $("q"),
    from: $("from"),
    to: $("to"),
    sources: $("source-options"),
    sourceNote: $("source-note"),
    dateNote: $("date-note"),
    clear: $("clear-filters"),
    filters: document.querySelector(".filters"),
    filtersToggle: $("filters-toggle"),
    filtersCount: $("filters-count"),
    status: $("status"),
    error: $("error"),
    empty: $("empty"),
    emptyTitle: $("empty-title"),
    emptyHint: $("empty-hint"),
    results: $("results"),
    resultsHeading: $("results-heading"),
    pager: $("pager"),
    prev: $("prev"),
    next: $("next"),
    pageLabel: $("page-label"),
    intro: $("intro"),
    summary: $("index-summary"),
  };

  let current = null; // the state shown on screen: {q, sources, from, to, page}
  let searchSeq = 0; // only the newest response may touch the page
  let searchAbort = null;
  let sourceOptionCount = 0; // unique ids for the outlet checkboxes

  // --- small helpers --------------------------------------------------------------------------

  /** The element `tag` with a class and text children; strings become text nodes, never markup. */
  function h(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** The URL itself when it is absolute http(s), otherwise null. */
  function safeHref(url) {
    if (typeof url !== "string" || !url) return null;
    let parsed;
    try {
      parsed = new URL(url); // no base: relative and scheme-less strings are rejected
    } catch {
      return null;
    }
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  }

  /** A link to an outside page, or a plain span with the same text when the URL is not http(s). */
  function externalLink(url, text, className) {
    const href = safeHref(url);
    if (!href) return h("span", className, text);
    const a = h("a", className, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // Fixed English month names: ICU versions disagree ("Sep" / "Sept"), and a newsroom wants one style.
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  /** "18 Nov 2025" from "2025-11-18" or "2025-11-18T08:18:00+00:00": the date the outlet printed. */
  function formatDate(published) {
    if (typeof published !== "string") return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(published);
    if (!m || +m[2] < 1 || +m[2] > 12) return published;
    return `${+m[3]} ${MONTHS[+m[2] - 1]} ${m[1]}`;
  }

  function timeElement(published, className) {
    const label = formatDate(published);
    if (!label) return null;
    const t = h("time", className, label);
    t.dateTime = published.slice(0, 10);
    return t;
  }

  /**
   * The passage as text nodes and <mark> elements. The API's ranges count Unicode code points
   * (Python string offsets), so the text is split by code point, not by UTF-16 unit.
   */
  function highlighted(text, ranges) {
    const chars = Array.from(text);
    const spans = (Array.isArray(ranges) ? ranges : [])
      .filter((r) => Array.isArray(r) && Number.isInteger(r[0]) && Number.isInteger(r[1]))
      .map(([s, e]) => [Math.max(0, s), Math.min(chars.length, e)])
      .filter(([s, e]) => s < e)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const fragment = document.createDocumentFragment();
    let at = 0;
    for (const [start, end] of spans) {
      if (end <= at) continue; // contained in the previous mark
      const from = Math.max(start, at);
      if (from > at) fragment.append(document.createTextNode(chars.slice(at, from).join("")));
      fragment.append(h("mark", null, chars.slice(from, end).join("")));
      at = end;
    }
    if (at < chars.length) fragment.append(document.createTextNode(chars.slice(at).join("")));
    return fragment;
  }

  // --- URL state ------------------------------------------------------------------------------

  function stateFromURL() {
    const params = new URLSearchParams(window.location.search);
    const page = Number.parseInt(params.get("page") || "1", 10);
    return {
      q: (params.get("q") || "").trim(),
      sources: params.getAll("source").filter(Boolean),
      from: validDate(params.get("from")),
      to: validDate(params.get("to")),
      page: Number.isFinite(page) && page >= 1 ? page : 1,
    };
  }

  function validDate(value) {
    return value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : "";
  }

  function urlForState(state) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const source of state.sources) params.append("source", source);
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
    if (state.page > 1) params.set("page", String(state.page));
    const query = params.toString();
    return window.location.pathname + (query ? `?${query}` : "");
  }

  function stateFromForm(page = 1) {
    return {
      q: els.q.value.trim(),
      sources: checkedSources(),
      from: els.from.value,
      to: els.to.value,
      page,
    };
  }

  function fillForm(state) {
    els.q.value = state.q;
    els.from.value = state.from;
    els.to.value = state.to;
    ensureSourceOptions(state.sources);
    for (const box of sourceBoxes()) box.checked = state.sources.includes(box.value);
    updateFilterCount();
  }

  /** Show `state` as a new history entry, so Back returns to what was on screen before. */
  function go(state) {
    const url = urlForState(state);
    if (url !== window.location.pathname + window.location.search) history.pushState(null, "", url);
    render(state);
  }

  // --- outlets and dates from /api/stats -------------------------------------------------------

  function sourceBoxes() {
    return Array.from(els.sources.querySelectorAll("input[type=checkbox]"));
  }

  /** "Filters (2)" on the phone toggle: how many restrictions are on, even while folded away. */
  function updateFilterCount() {
    const count = checkedSources().length + (els.from.value ? 1 : 0) + (els.to.value ? 1 : 0);
    els.filtersCount.textContent = count ? ` (${count})` : "";
  }

  function checkedSources() {
    return sourceBoxes()
      .filter((box) => box.checked)
      .map((box) => box.value);
  }

  function addSourceOption(name, count) {
    const id = `source-${++sourceOptionCount}`;
    const box = h("input");
    box.type = "checkbox";
    box.id = id;
    box.name = "source";
    box.value = name;
    const label = h("label", "source-option", box, h("span", "source-name", name));
    label.htmlFor = id;
    if (count !== undefined) {
      const noun = h("span", "visually-hidden", count === 1 ? " article" : " articles");
      label.append(h("span", "source-count", String(count), noun));
    }
    els.sources.append(label);
    return box;
  }

  /** Outlets named in the URL but unknown to the index still get a (checked) box, so state is never lost. */
  function ensureSourceOptions(names) {
    const known = new Set(sourceBoxes().map((box) => box.value));
    for (const name of names) if (!known.has(name)) addSourceOption(name);
  }

  async function loadStats() {
    let stats;
    try {
      stats = await getJSON("/api/stats");
    } catch (err) {
      els.sourceNote.textContent = "Outlets are unavailable.";
      if (!current || !current.q) showError(err.message);
      return;
    }
    els.sourceNote.remove();
    const selected = checkedSources();
    for (const box of sourceBoxes()) box.closest("label").remove();
    // Articles without an outlet come as "": the API cannot filter on that, so it gets no box.
    const names = Object.entries(stats.sources || {})
      .filter(([name]) => name)
      .sort((a, b) => a[0].localeCompare(b[0]));
    for (const [name, count] of names) addSourceOption(name, count);
    ensureSourceOptions(selected);
    for (const box of sourceBoxes()) box.checked = selected.includes(box.value);
    updateFilterCount();
    if (!names.length) els.sources.prepend(h("p", "filter-note", "No outlets in the index yet."));

    const first = formatDate(stats.date_from);
    const last = formatDate(stats.date_to);
    if (first && last) els.dateNote.textContent = `The archive runs from ${first} to ${last}.`;
    const articles = Number(stats.articles) || 0;
    const outlets = names.length;
    els.summary.textContent = `${articles.toLocaleString("en-GB")} articles · ${outlets} outlet${outlets === 1 ? "" : "s"}`;
  }

  // --- fetching -------------------------------------------------------------------------------

  class ApiError extends Error {}

  /** JSON from the API; failures become ApiError with the API's own message when it sent one. */
  async function getJSON(path, signal) {
    let response;
    try {
      response = await fetch(path, { signal, headers: { Accept: "application/json" } });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError("Could not reach the newsdesk server. Check that it is running and try again.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && typeof body.error.message === "string" ? body.error.message : null;
      throw new ApiError(message || `The server answered ${response.status} ${response.statusText}.`);
    }
    if (body === null) throw new ApiError("The server sent a response that is not JSON.");
    return body;
  }

  function withFilters(params, state) {
    for (const source of state.sources) params.append("source", source);
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
    return params;
  }

  function searchPath(state) {
    const params = new URLSearchParams({ q: state.q, k: String(PAGE_SIZE), offset: String((state.page - 1) * PAGE_SIZE) });
    return `/api/search?${withFilters(params, state)}`;
  }

  function relatedPath(id) {
    // Related articles honour the filters the reader has set, like the results they sit under.
    const params = withFilters(new URLSearchParams({ k: String(RELATED_K) }), stateFromURL());
    return `/api/articles/${encodeURIComponent(id)}/related?${params}`;
  }

  // --- rendering ------------------------------------------------------------------------------

  function showError(message) {
    els.error.replaceChildren(h("p", "error-title", "Search failed"), h("p", "error-message", message));
    els.error.hidden = false;
  }

  function clearMessages() {
    els.error.hidden = true;
    els.error.replaceChildren();
    els.empty.hidden = true;
  }

  async function render(state) {
    current = state;
    fillForm(state);
    clearMessages();
    document.title = state.q ? `${state.q} — newsdesk` : "newsdesk";
    if (searchAbort) searchAbort.abort();
    searchAbort = null;

    if (!state.q) {
      searchSeq += 1;
      els.results.replaceChildren();
      els.pager.hidden = true;
      els.status.textContent = "";
      els.intro.hidden = false;
      return;
    }
    els.intro.hidden = true;

    const seq = ++searchSeq;
    const controller = new AbortController();
    searchAbort = controller;
    els.results.setAttribute("aria-busy", "true");
    els.results.classList.add("is-loading");
    els.status.textContent = "Searching…";
    els.pager.hidden = true;

    let body;
    try {
      body = await getJSON(searchPath(state), controller.signal);
    } catch (err) {
      if (err.name === "AbortError" || seq !== searchSeq) return;
      finishLoading();
      els.results.replaceChildren();
      els.status.textContent = "";
      showError(err.message);
      return;
    }
    if (seq !== searchSeq) return;
    finishLoading();
    showResults(state, body);
  }

  function finishLoading() {
    els.results.removeAttribute("aria-busy");
    els.results.classList.remove("is-loading");
  }

  function filtersActive(state) {
    return state.sources.length > 0 || Boolean(state.from || state.to);
  }

  function showResults(state, body) {
    const results = Array.isArray(body.results) ? body.results : [];
    els.results.replaceChildren(...results.map(resultItem));
    els.results.start = (state.page - 1) * PAGE_SIZE + 1;

    if (!results.length) {
      els.status.textContent = "No articles match.";
      els.emptyTitle.textContent = filtersActive(state)
        ? "No articles match — try fewer filters"
        : "No articles match — try other words";
      els.emptyHint.textContent =
        state.page > 1 ? "There are no more results past this page." : "Widen the dates or choose more outlets.";
      els.emptyHint.hidden = !filtersActive(state) && state.page === 1;
      els.empty.hidden = false;
    } else {
      const first = (state.page - 1) * PAGE_SIZE + 1;
      const last = first + results.length - 1;
      const range = first === last ? `Result ${first}` : `Results ${first}–${last}`;
      els.status.textContent = `${range} for “${state.q}”${filtersActive(state) ? " (filtered)" : ""}`;
    }

    const hasMore = Boolean(body.has_more);
    els.prev.disabled = state.page <= 1;
    els.next.disabled = !hasMore;
    els.pageLabel.textContent = `Page ${state.page}`;
    els.pager.hidden = state.page <= 1 && !hasMore;
  }

  function resultItem(result) {
    const item = h("li", "result");
    item.dataset.id = String(result.id);

    const meta = h("p", "result-meta");
    if (result.source) meta.append(h("span", "result-source", String(result.source)));
    const when = timeElement(result.published, "result-date");
    if (when) meta.append(when);
    if (meta.childNodes.length) item.append(meta);

    const title = String(result.title || "Untitled");
    const headline = h("h3", "result-title", externalLink(result.url, title, "result-link"));
    item.append(headline);
    if (result.url && !safeHref(result.url)) {
      // Not a web address: show it so the reader knows where the article came from, but never as a link.
      item.append(h("p", "result-raw-url", "Source: ", h("code", null, String(result.url))));
    }

    const authors = Array.isArray(result.authors) ? result.authors.filter(Boolean).map(String) : [];
    if (authors.length) item.append(h("p", "result-byline", `By ${authors.join(", ")}`));

    if (result.passage) {
      const passage = h("p", "result-passage");
      if (result.passage_start > 0) passage.append(h("span", "ellipsis", "… "));
      passage.append(highlighted(String(result.passage), result.highlights));
      item.append(passage);
    }

    const also = Array.isArray(result.also) ? result.also : [];
    if (also.length) item.append(alsoCovered(also));

    item.append(relatedControls(result));
    return item;
  }

  function alsoCovered(copies) {
    const line = h("p", "result-also", "Also covered by ");
    copies.forEach((copy, i) => {
      if (i > 0) line.append(i === copies.length - 1 ? " and " : ", ");
      const name = String(copy.source || copy.title || "another outlet");
      const link = externalLink(copy.url, name, "also-link");
      if (copy.title) link.title = String(copy.title);
      line.append(link);
    });
    return line;
  }

  function relatedControls(result) {
    const wrap = h("div", "result-actions");
    const panelId = `related-${String(result.id).replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const button = h("button", "related-button", "Related");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", panelId);
    const panel = h("div", "related");
    panel.id = panelId;
    panel.hidden = true;
    let loaded = false;

    button.addEventListener("click", async () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      panel.hidden = !open;
      if (!open || loaded) return;
      loaded = true;
      panel.replaceChildren(h("p", "related-status", "Finding related articles…"));
      panel.setAttribute("aria-busy", "true");
      try {
        const body = await getJSON(relatedPath(result.id));
        const items = Array.isArray(body.results) ? body.results : [];
        panel.replaceChildren(
          h("h4", "related-heading", "Related articles"),
          items.length ? h("ul", "related-list", ...items.map(relatedItem)) : h("p", "related-status", "Nothing related found."),
        );
      } catch (err) {
        loaded = false; // let the reader try again
        panel.replaceChildren(h("p", "related-status related-error", err.message));
      } finally {
        panel.removeAttribute("aria-busy");
      }
    });

    wrap.append(button);
    const frag = document.createDocumentFragment();
    frag.append(wrap, panel);
    return frag;
  }

  function relatedItem(result) {
    const meta = [result.source ? String(result.source) : null, formatDate(result.published)].filter(Boolean);
    return h(
      "li",
      "related-item",
      externalLink(result.url, String(result.title || "Untitled"), "related-link"),
      meta.length ? h("span", "related-meta", meta.join(" · ")) : null,
    );
  }

  // --- events ---------------------------------------------------------------------------------

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const state = stateFromForm(1);
    if (!state.q) {
      els.q.focus();
      return;
    }
    go(state);
  });

  // Filters apply at once when there is a query to filter.
  function onFilterChange() {
    updateFilterCount();
    if (els.q.value.trim()) go(stateFromForm(1));
  }
  els.sources.addEventListener("change", onFilterChange);
  els.from.addEventListener("change", onFilterChange);
  els.to.addEventListener("change", onFilterChange);

  els.clear.addEventListener("click", () => {
    for (const box of sourceBoxes()) box.checked = false;
    els.from.value = "";
    els.to.value = "";
    onFilterChange();
  });

  els.filtersToggle.addEventListener("click", () => {
    const open = els.filtersToggle.getAttribute("aria-expanded") !== "true";
    els.filtersToggle.setAttribute("aria-expanded", String(open));
    els.filters.classList.toggle("is-open", open);
  });

  function turnPage(delta) {
    if (!current) return;
    go({ ...current, page: Math.max(1, current.page + delta) });
    els.resultsHeading.focus({ preventScroll: true });
    els.status.scrollIntoView({ block: "start" });
  }
  els.prev.addEventListener("click", () => turnPage(-1));
  els.next.addEventListener("click", () => turnPage(1));

  window.addEventListener("popstate", () => render(stateFromURL()));

  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing =
      target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (typing) return;
    event.preventDefault();
    els.q.focus();
    els.q.select();
  });

  // --- start ----------------------------------------------------------------------------------

  const initial = stateFromURL();
  render(initial);
  loadStats();
  if (!initial.q) els.q.focus();
})();
