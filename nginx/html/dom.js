// The page's DOM helpers. The scripts build their elements with el() and
// set text only through textContent, never innerHTML, so nothing that comes
// from the API or from the person is ever parsed as markup.

import { formatUtc } from './format.js';

/** A new `tag` element with the class `className` and the text `text`, each if given. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * `text` (a relative time such as "3 hours ago") for `date`, with the exact
 * UTC time beside it: in the tooltip for a pointer and as visually hidden
 * text for a screen reader. Returns the nodes to append.
 */
export function timeNodes(date, text) {
  const exact = formatUtc(date);
  const time = el('time', null, text);
  time.dateTime = date.toISOString();
  time.title = exact;
  return [time, el('span', 'visually-hidden', ` (${exact})`)];
}
