// Messages shown to the person and announced to screen readers.
//
// A message element is a live region that exists before its text changes
// (role="status" for progress and success, role="alert" for errors), so
// assistive technology announces each new text.

import { el } from './dom.js';

/** Create an empty live region; `role` is "status" or "alert". */
export function createMessageElement(role, className) {
  const node = el('p', `message ${className || ''}`.trim());
  node.setAttribute('role', role);
  node.hidden = true;
  return node;
}

let generation = 0;

/**
 * Show `text` in `el`. `kind` is "success", "error" or "progress" and only
 * changes the look. The text is written a moment after the region was
 * emptied, so that the same sentence twice in a row is announced twice.
 */
export function showMessage(el, text, kind) {
  const token = String(++generation);
  el.dataset.kind = kind;
  el.dataset.token = token;
  el.textContent = '';
  el.hidden = false;
  setTimeout(() => {
    if (el.dataset.token === token) el.textContent = text;
  }, 30);
}

export function clearMessage(el) {
  delete el.dataset.kind;
  delete el.dataset.token;
  el.textContent = '';
  el.hidden = true;
}
