// What core/tests/browser.py layout_problems() evaluates in the page; see the comment there.
(() => {
  const out = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    out.push(`page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const inScroller = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || cs.display === 'inline') continue;
    if (['SCRIPT', 'STYLE', 'OPTION', 'svg'].includes(el.tagName)) continue;
    if (el.closest('.visually-hidden, .skip')) continue;
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && cs.overflowX === 'visible' && !inScroller(el)) {
      out.push(`${name(el)} overflows: content ${el.scrollWidth}px in ${el.clientWidth}px: ${el.textContent.trim().slice(0, 40)}`);
    }
  }
  for (const el of document.body.querySelectorAll('.num, .code, .badge, button, .button, time')) {
    if (getComputedStyle(el).display === 'none') continue;
    // The lines of its text, counted in each block it is made of (a badge and a path side by
    // side in one button are two blocks on one line; a code wrapped in its block is two
    // lines). In one block, boxes that overlap vertically are one line (mixed sizes).
    const blockOf = (node) => {
      let p = node.parentElement;
      while (p !== el && getComputedStyle(p).display === 'inline') p = p.parentElement;
      return p;
    };
    const byBlock = new Map();
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      const block = blockOf(t);
      if (!byBlock.has(block)) byBlock.set(block, []);
      for (const r of range.getClientRects()) if (r.width > 0) byBlock.get(block).push(r);
    }
    let lines = [];
    for (const boxes of byBlock.values()) {
      const inBlock = [];
      for (const r of boxes.sort((a, b) => a.top - b.top)) {
        const line = inBlock.find(l => r.top < l.bottom - 1 && r.bottom > l.top + 1);
        if (line) { line.top = Math.min(line.top, r.top); line.bottom = Math.max(line.bottom, r.bottom); }
        else inBlock.push({top: r.top, bottom: r.bottom});
      }
      if (inBlock.length > lines.length) lines = inBlock;
    }
    if (lines.length > 1) out.push(`${name(el)} is broken over ${lines.length} lines: ${el.textContent.trim().slice(0, 40)}`);
  }
  return out;
})
