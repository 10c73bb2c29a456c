// newsdesk search page. Plain script, no build step.
//
// Two rules hold everywhere below:
//   1. Article text (titles, passages, outlets, authors, URLs) enters the DOM only as text:
//      textContent / createTextNode, never innerHTML or insertAdjacentHTML.
//   2. Only http: and https: URLs become links; anything else is shown as plain text.
// The search state (query, outlets, dates, as_of, sort, time words, page) lives in the URL, so a
// search can be linked and Back / Forward replay it. Dates and the coverage timeline live in
// dates.js and timeline.js.
"use strict";

(() => {
  const PAGE_SIZE = 10;
  const RELATED_K = 5;
  const { validDay, formatDate, fullDate, formatRange, relativeDay, today } = window.newsdeskDates;
  const WHEN = /^\d{1,6}[hdw]$/i; // the API's `when` shorthand: 24h, 7d, 2w

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("search-form"),
    q: $("q"),
    from: $("from"),
    to: $("to"),
    asOf: $("as-of"),
    asOfNote: $("as-of-note"),
    newest: $("newest"),
    chips: $("chips"),
    sourceCountsNote: $("source-counts-note"),
    coverage: $("coverage"),
    coverageSummary: $("coverage-summary"),
    coveragePlot: $("coverage-plot"),
    coverageChart: $("coverage-chart"),
    coverageFirst: $("coverage-first"),
    coverageLast: $("coverage-last"),
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

  let current = null; // the state shown on screen: {q, sources, from, to, asOf, when, sort, timeWords, page}
  let searchSeq = 0; // only the newest response may touch the page
  let searchAbort = null;
  let sourceOptionCount = 0; // unique ids for the outlet checkboxes
  let archiveCounts = new Map(); // articles per outlet in the whole index (/api/stats)
  let searchCounts = null; // articles per outlet matching the search on screen (facets), or null

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

  /** <time> showing "3 days ago" (before as_of when set, else today), the full date on hover. */
  function timeElement(published, className, asOf) {
    const label = formatDate(published);
    if (!label) return null;
    const t = h("time", className, relativeDay(published, asOf || today()) || label);
    t.dateTime = published.slice(0, 10);
    t.title = fullDate(published);
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
    const when = (params.get("when") || "").trim();
    return {
      q: (params.get("q") || "").trim(),
      sources: params.getAll("source").filter(Boolean),
      from: validDay(params.get("from")),
      to: validDay(params.get("to")),
      asOf: validDay(params.get("as_of")),
      when: WHEN.test(when) ? when : "",
      sort: params.get("sort") === "newest" ? "newest" : "",
      timeWords: params.get("time_words") !== "false",
      page: Number.isFinite(page) && page >= 1 ? page : 1,
    };
  }

  /** Search parameters shared by the page URL and the API request (defaults left out). */
  function stateParams(state) {
    const params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    for (const source of state.sources) params.append("source", source);
    if (state.from) params.set("from", state.from);
    if (state.to) params.set("to", state.to);
    if (state.asOf) params.set("as_of", state.asOf);
    if (state.when) params.set("when", state.when);
    if (state.sort) params.set("sort", state.sort);
    if (!state.timeWords) params.set("time_words", "false");
    return params;
  }

  function urlForState(state) {
    const params = stateParams(state);
    if (state.page > 1) params.set("page", String(state.page));
    const query = params.toString();
    return window.location.pathname + (query ? `?${query}` : "");
  }

  /** The form's fields; `when` and the time-word switch are not fields, so they carry over. */
  function stateFromForm(page = 1) {
    return {
      q: els.q.value.trim(),
      sources: checkedSources(),
      from: els.from.value,
      to: els.to.value,
      asOf: els.asOf.value,
      when: current ? current.when : "",
      sort: els.newest.checked ? "newest" : "",
      timeWords: current ? current.timeWords : true,
      page,
    };
  }

  function fillForm(state) {
    els.q.value = state.q;
    els.from.value = state.from;
    els.to.value = state.to;
    els.asOf.value = state.asOf;
    els.newest.checked = state.sort === "newest";
    els.asOfNote.textContent = state.asOf
      ? `Searching as of ${formatDate(state.asOf)}: nothing published later is shown.`
      : "Empty: as of now.";
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
    const count = checkedSources().length + [els.from, els.to, els.asOf].filter((input) => input.value).length;
    els.filtersCount.textContent = count ? ` (${count})` : "";
  }

  function checkedSources() {
    return sourceBoxes()
      .filter((box) => box.checked)
      .map((box) => box.value);
  }

  function addSourceOption(name) {
    const id = `source-${++sourceOptionCount}`;
    const box = h("input");
    box.type = "checkbox";
    box.id = id;
    box.name = "source";
    box.value = name;
    const label = h("label", "source-option", box, h("span", "source-name", name), h("span", "source-count"));
    label.htmlFor = id;
    els.sources.append(label);
    return box;
  }

  /**
   * The number beside each outlet: how many articles match the search on screen when the API sent
   * facets, otherwise how many the archive holds.
   */
  function showSourceCounts() {
    const counts = searchCounts || archiveCounts;
    for (const box of sourceBoxes()) {
      const label = box.closest("label");
      const slot = label.querySelector(".source-count");
      const known = searchCounts !== null || archiveCounts.has(box.value);
      const count = counts.get(box.value) || 0;
      const noun = searchCounts ? " matching" : count === 1 ? " article" : " articles";
      slot.replaceChildren(...(known ? [String(count), h("span", "visually-hidden", noun)] : []));
      label.classList.toggle("is-empty", searchCounts !== null && count === 0);
    }
    els.sourceCountsNote.textContent = searchCounts ? "Counts: articles matching this search." : "";
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
    archiveCounts = new Map(names.map(([name, count]) => [name, Number(count) || 0]));
    for (const [name] of names) addSourceOption(name);
    ensureSourceOptions([...selected, ...(searchCounts ? searchCounts.keys() : [])].filter(Boolean));
    for (const box of sourceBoxes()) box.checked = selected.includes(box.value);
    showSourceCounts();
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
    const params = stateParams(state);
    params.set("k", String(PAGE_SIZE));
    params.set("offset", String((state.page - 1) * PAGE_SIZE));
    params.set("facets", "true");
    return `/api/search?${params}`;
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
      showChips(state, null);
      showCoverage(state, null);
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
      showChips(state, null);
      showCoverage(state, null);
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
    return state.sources.length > 0 || Boolean(state.from || state.to || state.asOf || state.when);
  }

  function showResults(state, body) {
    const results = Array.isArray(body.results) ? body.results : [];
    els.results.replaceChildren(...results.map((result) => resultItem(result, state)));
    showChips(state, body.time_range);
    showCoverage(state, body.facets);
    els.results.start = (state.page - 1) * PAGE_SIZE + 1;

    if (!results.length) {
      els.status.textContent = "No articles match.";
      const narrowed = filtersActive(state) || Boolean(body.time_range);
      els.emptyTitle.textContent = narrowed ? "No articles match — try fewer filters" : "No articles match — try other words";
      els.emptyHint.textContent =
        state.page > 1
          ? "There are no more results past this page."
          : body.time_range
            ? "Remove the dates above, widen the dates or choose more outlets."
            : "Widen the dates or choose more outlets.";
      els.emptyHint.hidden = !narrowed && state.page === 1;
      els.empty.hidden = false;
    } else {
      const first = (state.page - 1) * PAGE_SIZE + 1;
      const last = first + results.length - 1;
      const range = first === last ? `Result ${first}` : `Results ${first}–${last}`;
      const order = state.sort === "newest" ? ", newest first" : "";
      els.status.textContent = `${range} for “${state.q}”${filtersActive(state) ? " (filtered)" : ""}${order}`;
    }

    const hasMore = Boolean(body.has_more);
    els.prev.disabled = state.page <= 1;
    els.next.disabled = !hasMore;
    els.pageLabel.textContent = `Page ${state.page}`;
    els.pager.hidden = state.page <= 1 && !hasMore;
  }

  /** A removable chip: its words, and a × button that says what it removes. */
  function chip(className, text, removeLabel, onRemove) {
    const remove = h("button", "chip-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", removeLabel);
    remove.title = removeLabel;
    remove.addEventListener("click", onRemove);
    return h("li", `chip ${className}`, h("span", "chip-text", text), remove);
  }

  /**
   * The time the results are restricted to, above them: as_of, and the range the API applied from the
   * question's time words ("this week · 6–13 Mar 2020") or from `when`, each removable.
   */
  function showChips(state, timeRange) {
    const chips = [];
    if (state.asOf) {
      chips.push(
        chip("chip-as-of", `as of ${formatDate(state.asOf)}`, "Search as of now instead", () =>
          go({ ...state, asOf: "", page: 1 }),
        ),
      );
    }
    const range = timeRange && typeof timeRange === "object" ? timeRange : null;
    if (range && (range.start || range.end)) {
      const words = String(range.label || range.words || "");
      const text = [words, formatRange(range.start, range.end)].filter(Boolean).join(" · ");
      if (range.origin === "question") {
        const item = chip("chip-time", text, `Remove the dates read from “${range.words || words}”`, () =>
          go({ ...state, timeWords: false, page: 1 }),
        );
        item.title = `From your question: “${String(range.words || words)}”`;
        chips.push(item);
      } else if (range.origin === "when") {
        chips.push(chip("chip-time chip-when", text, "Remove this time window", () => go({ ...state, when: "", page: 1 })));
      }
    }
    if (!state.timeWords && state.q) {
      const undo = h("button", "link-button chip-undo", "Read dates in the question");
      undo.type = "button";
      undo.addEventListener("click", () => go({ ...state, timeWords: true, page: 1 }));
      chips.push(h("li", "chip-note", "Dates in the question are ignored. ", undo));
    }
    els.chips.replaceChildren(...chips);
    els.chips.hidden = chips.length === 0;
  }

  /** The timeline of matching articles and the outlet counts, from the response's facets. */
  function showCoverage(state, facets) {
    const valid = facets && typeof facets === "object";
    const sources = valid && Array.isArray(facets.sources) ? facets.sources : null;
    searchCounts = sources ? new Map(sources.map((s) => [String(s.value), Number(s.count) || 0])) : null;
    if (searchCounts) ensureSourceOptions([...searchCounts.keys()].filter(Boolean));
    showSourceCounts();

    const buckets = valid && Array.isArray(facets.dates) ? facets.dates.filter((b) => b && validDay(b.start)) : [];
    const total = valid ? Number(facets.total) || 0 : 0;
    els.coverage.hidden = !buckets.length || !total;
    if (els.coverage.hidden) {
      els.coverageChart.replaceChildren();
      return;
    }
    const per = { day: "per day", week: "per week", month: "per month" }[facets.interval] || "";
    const undated = Number(facets.undated) || 0;
    els.coverageSummary.textContent = [
      `${total.toLocaleString("en-GB")} matching article${total === 1 ? "" : "s"}`,
      per,
      undated ? `${undated.toLocaleString("en-GB")} undated` : "",
    ]
      .filter(Boolean)
      .join(" · ");
    window.newsdeskTimeline.draw(els.coverageChart, buckets, {
      selected: { from: state.from, to: state.to },
      onPick: (bucket) => {
        const again = state.from === bucket.start && state.to === bucket.end;
        go({ ...state, from: again ? "" : bucket.start, to: again ? "" : bucket.end, page: 1 });
      },
    });
    // A few buckets would make slabs across the column: each gets at most 3rem (the dates below need
    // 12rem); many share the column's width.
    els.coveragePlot.style.maxWidth = `${Math.max(12, buckets.length * 3)}rem`;
    els.coverageFirst.textContent = formatDate(buckets[0].start);
    els.coverageLast.textContent = formatDate(buckets[buckets.length - 1].end);
  }

  function resultItem(result, state) {
    const item = h("li", "result");
    item.dataset.id = String(result.id);

    const meta = h("p", "result-meta");
    if (result.source) meta.append(h("span", "result-source", String(result.source)));
    const when = timeElement(result.published, "result-date", state.asOf);
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

    let passageToggle = null;
    if (result.passage) {
      const passage = h("p", "result-passage");
      if (result.passage_start > 0) passage.append(h("span", "ellipsis", "… "));
      passage.append(highlighted(String(result.passage), result.highlights));
      // The focused snippet first and the whole passage on demand; a server without snippets
      // (or a passage short enough to be its own snippet) shows the passage as before.
      const snippet = typeof result.snippet === "string" ? result.snippet : "";
      if (snippet && snippet !== String(result.passage)) {
        const short = h("p", "result-snippet", highlighted(snippet, result.snippet_highlights));
        passage.hidden = true;
        passage.id = `passage-${domId(result.id)}`;
        passageToggle = passageButton(short, passage);
        item.append(short, passage);
      } else {
        item.append(passage);
      }
    }

    const also = Array.isArray(result.also) ? result.also : [];
    if (also.length) item.append(alsoCovered(also));

    item.append(relatedControls(result, passageToggle));
    return item;
  }

  function domId(id) {
    return String(id).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function passageButton(short, passage) {
    const button = h("button", "passage-button", "Show full passage");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", passage.id);
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      button.textContent = open ? "Show snippet" : "Show full passage";
      passage.hidden = !open;
      short.hidden = open;
    });
    return button;
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

  function relatedControls(result, passageToggle) {
    const wrap = h("div", "result-actions", passageToggle);
    const panelId = `related-${domId(result.id)}`;
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
    // A new question gets its own time words read; removing the chip applied to the old one.
    if (!current || state.q !== current.q) state.timeWords = true;
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
  els.asOf.addEventListener("change", onFilterChange);
  els.newest.addEventListener("change", onFilterChange);

  els.clear.addEventListener("click", () => {
    for (const box of sourceBoxes()) box.checked = false;
    els.from.value = "";
    els.to.value = "";
    els.asOf.value = "";
    if (current) current = { ...current, when: "" };
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
