/* global window, document, getComputedStyle */
/**
 * Runs in the browser page of test/e2e/phone-width.test.ts, after adaptivecards.js:
 * `renderCard(json)` renders one card into #card with the Adaptive Cards renderer and lists what
 * is cut: an element reaching past the card's edges, or one that hides part of its content
 * (overflow hidden or an ellipsis with more content than room). Only the outermost element of
 * each problem is reported.
 */
window.renderCard = function renderCard(json) {
  const AC = window.AdaptiveCards;
  const host = document.getElementById('card');
  host.innerHTML = '';
  const c = new AC.AdaptiveCard();
  c.hostConfig = new AC.HostConfig({
    fontFamily: '"Segoe UI", system-ui, sans-serif',
    supportsInteractivity: true,
    actions: { maxActions: 6, actionsOrientation: 'horizontal', actionAlignment: 'stretch', buttonSpacing: 8, showCard: { actionMode: 'inline' } },
  });
  c.parse(json);
  const el = c.render();
  if (!el) return { width: 0, cut: ['the renderer returned nothing'] };
  host.appendChild(el);
  const cardRect = el.getBoundingClientRect();
  const describe = (e, what) => {
    const text = (e.innerText || e.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim().slice(0, 80);
    return `${what}: <${e.tagName.toLowerCase()} class="${e.className}"> "${text}"`;
  };
  const cut = [];
  const reported = [];
  const report = (e, what) => {
    if (reported.some((r) => r.contains(e))) return;
    reported.push(e);
    cut.push(describe(e, what));
  };
  if (el.scrollWidth > el.clientWidth + 1) report(el, `the card is ${el.scrollWidth - el.clientWidth}px wider than its box`);
  for (const e of Array.from(el.querySelectorAll('*'))) {
    const cs = getComputedStyle(e);
    if (cs.display === 'none' || cs.visibility === 'hidden') continue;
    // inside a collapsed ShowCard
    if (e.offsetParent === null && cs.position !== 'fixed') continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > cardRect.right + 1 || r.left < cardRect.left - 1) {
      report(e, `reaches ${Math.round(Math.max(r.right - cardRect.right, cardRect.left - r.left))}px past the card's edge`);
    }
    // a one-line text box scrolls its value by nature (the caret moves through it): not a cut
    const clips = e.tagName !== 'INPUT' && (cs.overflowX === 'hidden' || cs.overflowX === 'clip' || cs.textOverflow === 'ellipsis');
    if (clips && e.scrollWidth > e.clientWidth + 1) report(e, `hides ${e.scrollWidth - e.clientWidth}px of its content`);
  }
  return { width: Math.round(cardRect.width), cut };
};
