// Coverage at a glance: how many matching articles came out per day, week or month, as bars.
// Plain inline SVG made with DOM calls (no markup strings, no library). Each bar is a button with a
// spoken label ("12 articles, 9–15 Mar 2020"); choosing one narrows the search to its dates.
"use strict";

window.newsdeskTimeline = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const HEIGHT = 100; // viewBox units; the drawing stretches to the width of its box
  const SLOT = 10; // viewBox units per bar, gap included
  const BAR = 8;

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  /** "12 articles, 9–15 Mar 2020". */
  function barLabel(bucket) {
    const count = Number(bucket.count) || 0;
    const when = window.newsdeskDates.formatRange(bucket.start, bucket.end);
    return `${count.toLocaleString("en-GB")} article${count === 1 ? "" : "s"}, ${when}`;
  }

  /**
   * Replace the children of `container` with bars for `buckets` ({start, end, count}, oldest first).
   * `selected` is {from, to}: the bar covering exactly those dates shows as pressed. `onPick(bucket)`
   * runs when a bar is clicked or pressed with Enter or Space. Arrow keys move between bars, so the
   * chart is one stop in the tab order (one bar has tabindex 0, the rest -1).
   */
  function draw(container, buckets, { selected, onPick }) {
    const max = Math.max(1, ...buckets.map((b) => Number(b.count) || 0));
    const chart = svg("svg", {
      class: "timeline",
      viewBox: `0 0 ${buckets.length * SLOT} ${HEIGHT}`,
      preserveAspectRatio: "none",
      role: "group",
      "aria-label": "Matching articles over time; choose a bar to search those dates",
    });
    chart.append(svg("line", { class: "timeline-base", x1: 0, y1: HEIGHT, x2: buckets.length * SLOT, y2: HEIGHT }));

    const bars = buckets.map((bucket, i) => {
      const count = Number(bucket.count) || 0;
      const height = (count / max) * HEIGHT;
      const pressed = Boolean(selected && selected.from === bucket.start && selected.to === bucket.end);
      const bar = svg("g", {
        class: `bar${count ? "" : " is-empty"}`,
        role: "button",
        tabindex: -1,
        "aria-label": barLabel(bucket),
        "aria-pressed": pressed,
        "data-start": bucket.start,
        "data-end": bucket.end,
        "data-count": count,
      });
      const title = svg("title");
      title.textContent = barLabel(bucket); // the hover tip
      // The whole column takes the click, so a day with one article is as easy to hit as a busy one.
      bar.append(
        title,
        svg("rect", { class: "bar-hit", x: i * SLOT, y: 0, width: SLOT, height: HEIGHT }),
        svg("rect", { class: "bar-fill", x: i * SLOT + (SLOT - BAR) / 2, y: HEIGHT - height, width: BAR, height }),
      );
      bar.addEventListener("click", () => onPick(bucket));
      bar.addEventListener("keydown", (event) => onKey(event, bars, i, bucket, onPick));
      return bar;
    });
    const current = bars.findIndex((b) => b.getAttribute("aria-pressed") === "true");
    if (bars.length) bars[current >= 0 ? current : bars.length - 1].setAttribute("tabindex", "0");
    chart.append(...bars);
    container.replaceChildren(chart);
  }

  function onKey(event, bars, i, bucket, onPick) {
    const moves = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: bars.length - 1 };
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onPick(bucket);
    } else if (event.key in moves) {
      event.preventDefault();
      const next = bars[Math.min(bars.length - 1, Math.max(0, moves[event.key]))];
      for (const bar of bars) bar.setAttribute("tabindex", bar === next ? "0" : "-1");
      next.focus();
    }
  }

  return Object.freeze({ draw, barLabel });
})();
