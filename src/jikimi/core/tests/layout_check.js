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
    const range = document.createRange();
    range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (lines.size > 1) out.push(`${name(el)} is broken over ${lines.size} lines: ${el.textContent.trim().slice(0, 40)}`);
  }
  return out;
})
