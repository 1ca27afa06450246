// Whether a navigation stays on the app's own document. Pure: unit-tested from test/unit.

/** True when `url` is this same document (only the fragment or history state may differ). */
export function isSameDocument(url: string, current: string): boolean {
  const next = URL.parse(url);
  const here = URL.parse(current);
  return next !== null && here !== null && next.origin === here.origin && next.pathname === here.pathname && next.search === here.search;
}
