// The Activity section: the user's key activity (GET
// /api/users/me/api-keys/activity), newest first, a page at a time.
//
// The first page is fetched when the page loads and again after every
// save, removal and check, replacing what is shown; "Show older" appends
// the next page (the answer's `cursor`) and is hidden when nothing is
// older. Entries never hold key material (docs/api.md); every text is set
// with textContent.

import * as api from './api.js';
import { el, timeNodes } from './dom.js';
import { parseTimestamp, formatRelative } from './format.js';
import { showMessage, clearMessage } from './messages.js';

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);

const VERIFY_RESULTS = {
  valid: 'Key checked: accepted',
  invalid: 'Key checked: rejected',
  error: 'Key checked: no answer',
};

/** What happened, in words: "Key added", "Key rejected by the provider (HTTP 401)". */
export function describeAction(entry) {
  switch (entry.action) {
    case 'added': return 'Key added';
    case 'replaced': return 'Key replaced';
    case 'removed': return 'Key removed';
    case 'verified': return VERIFY_RESULTS[entry.result] || 'Key checked';
    case 'rejected':
      return `Key rejected by the provider${entry.status ? ` (HTTP ${entry.status})` : ''}`;
    case 'expired': return 'Key expired and was deleted';
    case 'revoked': return 'Key revoked by an administrator';
    default: return entry.action;
  }
}

const SOURCES = { user: 'Your key', system: 'System-wide key' };

const state = {
  nameOf: (id) => id,
  cursor: null,
  generation: 0, // a newer refresh makes older answers stale
  loadingOlder: false,
};

function entryElement(entry) {
  const li = el('li', 'activity-entry');
  li.dataset.action = entry.action;
  li.dataset.id = entry.id;
  li.tabIndex = -1; // focused when "Show older" goes away
  const what = el('p', 'activity-what');
  const provider = typeof entry.provider === 'string' && entry.provider ? entry.provider : null;
  if (provider) what.append(el('span', 'activity-provider', state.nameOf(provider)), ': ');
  what.append(el('span', 'activity-action', describeAction(entry)));

  const meta = el('p', 'activity-meta');
  const at = parseTimestamp(entry.at);
  const bits = [];
  if (at) bits.push(timeNodes(at, formatRelative(at)));
  if (SOURCES[entry.source]) bits.push([el('span', 'activity-source', SOURCES[entry.source])]);
  if (entry.by === 'operator') bits.push([el('span', 'activity-by', 'by an administrator')]);
  if (typeof entry.client === 'string' && entry.client) {
    bits.push([el('span', 'activity-client', `from ${entry.client}`)]);
  }
  bits.forEach((nodes, i) => {
    if (i) meta.append(el('span', 'activity-sep', ' · '));
    meta.append(...nodes);
  });
  li.append(what, meta);
  return li;
}

function showError(text) {
  $('activity-error-detail').textContent = text;
  $('activity-error').hidden = false;
}

function render(entries, { append }) {
  const list = $('activity-list');
  if (!append) list.replaceChildren();
  const added = entries.map(entryElement);
  list.append(...added);
  list.hidden = list.children.length === 0;
  $('activity-empty').hidden = list.children.length !== 0;
  $('activity-older').hidden = !state.cursor;
  return added;
}

/** Fetch the newest page again and show it in place of what is shown. */
export async function refreshActivity() {
  const mine = ++state.generation;
  state.loadingOlder = false;
  setOlderBusy(false);
  let page;
  try {
    page = await api.getActivity({ limit: PAGE_SIZE });
  } catch (err) {
    if (mine !== state.generation) return;
    $('activity-loading').hidden = true;
    $('activity-list').hidden = true;
    $('activity-empty').hidden = true;
    $('activity-older').hidden = true;
    showError(err.message);
    return;
  }
  if (mine !== state.generation) return;
  $('activity-loading').hidden = true;
  $('activity-error').hidden = true;
  state.cursor = page.cursor;
  render(page.entries, { append: false });
}

function setOlderBusy(busy) {
  const button = $('activity-older');
  // aria-disabled rather than disabled: the button keeps the focus.
  if (busy) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
  button.textContent = busy ? 'Loading older activity…' : 'Show older';
}

async function showOlder() {
  if (state.loadingOlder || !state.cursor) return;
  const mine = state.generation;
  const status = $('activity-status');
  state.loadingOlder = true;
  setOlderBusy(true);
  clearMessage(status);
  let page;
  try {
    page = await api.getActivity({ limit: PAGE_SIZE, cursor: state.cursor });
  } catch (err) {
    if (mine !== state.generation) return;
    state.loadingOlder = false;
    setOlderBusy(false);
    showMessage(status, `Could not load older activity: ${err.message}`, 'error');
    return;
  }
  if (mine !== state.generation) return; // refreshed meanwhile: the list starts over
  state.loadingOlder = false;
  setOlderBusy(false);
  state.cursor = page.cursor;
  const added = render(page.entries, { append: true });
  const count = added.length;
  showMessage(status, count
    ? `${count} older ${count === 1 ? 'entry' : 'entries'} shown${state.cursor ? '' : '; nothing older'}.`
    : 'Nothing older.', 'progress');
  if ($('activity-older').hidden && added.length) added[0].focus();
}

/** Wire the section; `nameOf(id)` names a provider. */
export function startActivity({ nameOf }) {
  state.nameOf = nameOf;
  $('activity-older').addEventListener('click', showOlder);
  $('activity-retry').addEventListener('click', () => {
    $('activity-error').hidden = true;
    $('activity-loading').hidden = false;
    refreshActivity().then(() => {
      const target = $('activity-error').hidden ? $('activity-heading') : $('activity-retry');
      target.focus();
    });
  });
  refreshActivity();
}
