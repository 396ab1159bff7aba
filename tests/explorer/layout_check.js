// Layout check of the visible explorer pane, run in the page by test_browser.py.
// Returns {problems: [...], charts, legends, feeds}; a problem is overlap, clipping,
// text under 12 px, a horizontal scroll, or (dark theme) dark chart text.
({ dark }) => {
  const problems = [];
  const tol = 1.5;
  const rect = (el) => el.getBoundingClientRect();
  const name = (el) => {
    const card = el.closest(".am-card");
    const title = card && card.querySelector(".am-card-title");
    return (title ? title.textContent.trim() : el.className.toString()).slice(0, 60);
  };
  const inside = (inner, outer) =>
    inner.left >= outer.left - tol &&
    inner.right <= outer.right + tol &&
    inner.top >= outer.top - tol &&
    inner.bottom <= outer.bottom + tol;
  const visible = (el) => {
    const r = rect(el);
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };

  const pane = [...document.querySelectorAll(".am-pane")].find((p) => p.style.display !== "none");
  const scope = [pane, document.querySelector(".am-timebar")];
  // 1. no horizontal scrolling: the page and the main content fit the window
  const doc = document.scrollingElement;
  if (doc.scrollWidth > doc.clientWidth + tol) problems.push(`page scrolls sideways`);
  const main = document.querySelector(".am-main").parentElement;
  if (main.scrollWidth > main.clientWidth + tol)
    problems.push(`main area scrolls sideways: ${main.scrollWidth} > ${main.clientWidth}`);
  const mainBox = rect(main);

  // 2. cards: inside the main area, none overlapping another
  const cards = [...pane.querySelectorAll(".am-card")].filter(visible);
  cards.forEach((c) => {
    const r = rect(c);
    if (r.left < mainBox.left - tol || r.right > mainBox.right + tol)
      problems.push(`card cut at the side: ${name(c)}`);
  });
  for (let i = 0; i < cards.length; i++) {
    for (let j = i + 1; j < cards.length; j++) {
      if (cards[i].contains(cards[j]) || cards[j].contains(cards[i])) continue;
      const a = rect(cards[i]);
      const b = rect(cards[j]);
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > tol && h > tol) problems.push(`overlap: ${name(cards[i])} / ${name(cards[j])}`);
    }
  }

  // 3. charts, legends, legend entries and feeds inside their card; chart text inside its chart
  const charts = [...pane.querySelectorAll(".am-vega svg")].filter(visible);
  charts.forEach((svg) => {
    const card = svg.closest(".am-card");
    const box = rect(svg);
    if (!inside(box, rect(card))) problems.push(`chart sticks out of its card: ${name(svg)}`);
    svg.querySelectorAll("text").forEach((t) => {
      if (!t.textContent.trim()) return;
      const r = rect(t);
      if (r.width === 0) return;
      if (!inside(r, box)) problems.push(`chart text clipped: "${t.textContent}" in ${name(svg)}`);
    });
  });
  const legends = [...pane.querySelectorAll(".am-legend")].filter(visible);
  legends.forEach((lg) => {
    const card = lg.closest(".am-card");
    if (!inside(rect(lg), rect(card))) problems.push(`legend sticks out: ${name(lg)}`);
    lg.querySelectorAll(".am-legend-item").forEach((item) => {
      if (!inside(rect(item), rect(lg)))
        problems.push(`legend entry clipped: "${item.textContent}" in ${name(lg)}`);
    });
  });
  const feeds = [...pane.querySelectorAll(".am-feed")].filter(visible);
  feeds.forEach((f) => {
    if (!inside(rect(f), rect(f.closest(".am-card")))) problems.push(`feed sticks out: ${name(f)}`);
    if (f.scrollWidth > f.clientWidth + tol) problems.push(`feed scrolls sideways: ${name(f)}`);
  });

  // 4. every visible text at least 12 px (HTML and chart text)
  const small = new Set();
  scope.forEach((root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!node.textContent.trim()) continue;
      const el = node.parentElement;
      if (!visible(el)) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < 12) small.add(`${size}px "${node.textContent.trim().slice(0, 30)}"`);
    }
  });
  small.forEach((s) => problems.push(`text under 12 px: ${s}`));

  // 5. in the dark theme, chart text is light; in the light theme, dark
  const lum = (color) => {
    const m = color.match(/\d+(\.\d+)?/g);
    if (!m) return null;
    const [r, g, b] = m.slice(0, 3).map(Number);
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  };
  charts.slice(0, 3).forEach((svg) => {
    const label = [...svg.querySelectorAll("text")].find((t) => t.textContent.trim());
    if (!label) return;
    const l = lum(getComputedStyle(label).fill);
    if (l !== null && (dark ? l < 0.6 : l > 0.4))
      problems.push(`chart text hard to read in the ${dark ? "dark" : "light"} theme: ${name(svg)}`);
  });
  return { problems, charts: charts.length, legends: legends.length, feeds: feeds.length };
};
