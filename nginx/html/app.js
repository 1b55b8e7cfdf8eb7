// The API Keys tab of the profile page: loads the signed-in user, the
// provider rows and this month's usage, and carries out Add/Update (editor),
// Verify (the stored or system key, or a typed one before saving) and Remove
// (dialog). The Activity section (activity.js) lists what happened to the
// keys and is fetched again after each of these actions.
//
// After a change only the affected row is refreshed (from GET /api/providers),
// in place: other rows, their open editors and the focus are left alone. A
// failed save or removal refreshes the row too: an error (a 503 above all)
// does not say the change was not made (docs/api.md), so the row shows what
// is stored. The usage is fetched with the list and again after every action.

import * as api from './api.js';
import {
  createRow, updateRow, setRowBusy, setVerifyBusy, setRowUsage, keyState, verifyIsBilled,
  billedVerifyNote,
} from './rows.js';
import { openEditor } from './editor.js';
import { confirmDialog } from './dialog.js';
import { showMessage, clearMessage } from './messages.js';
import { startActivity, refreshActivity } from './activity.js';
import { parseTimestamp, formatUtcDay } from './format.js';

const $ = (id) => document.getElementById(id);
const rows = new Map(); // provider id -> row
const providerNames = new Map(); // provider id -> name, for the Activity section

const displayName = (row) => row.provider.name || row.provider.id;

function clearRowMessages(row) {
  clearMessage(row.message);
  clearMessage(row.alert);
}

function rowSuccess(row, text) {
  clearMessage(row.alert);
  showMessage(row.message, text, 'success');
}

function rowProgress(row, text) {
  clearMessage(row.alert);
  showMessage(row.message, text, 'progress');
}

function rowError(row, text) {
  clearMessage(row.message);
  showMessage(row.alert, text, 'error');
}

function rowWarning(row, text) {
  clearMessage(row.alert);
  showMessage(row.message, text, 'warning');
}

/** `text` as a sentence: with a full stop unless it ends in one already. */
const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/* ---- usage this month ------------------------------------------------------ */

let usageRequest = 0;

/**
 * Fetch this month's usage and show it in every row. When it cannot be had,
 * rows keep what they showed (nothing, the first time): usage is extra.
 */
async function refreshUsage() {
  const mine = ++usageRequest;
  let usage;
  try {
    usage = await api.getUsage();
  } catch {
    return;
  }
  if (mine !== usageRequest) return; // a later refresh is on its way
  for (const row of rows.values()) setRowUsage(row, usage.providers[row.provider.id]);
}

/* ---- page states: loading, error, list ---------------------------------- */

function showLoading() {
  $('loading').hidden = false;
  $('load-error').hidden = true;
  $('provider-list').hidden = true;
  $('empty').hidden = true;
}

function showLoadError(err) {
  $('loading').hidden = true;
  $('provider-list').hidden = true;
  $('empty').hidden = true;
  $('load-error-detail').textContent = err.message;
  $('load-error').hidden = false;
}

function renderList(providers) {
  const list = $('provider-list');
  rows.clear();
  list.replaceChildren();
  for (const provider of providers) {
    if (!provider || typeof provider.id !== 'string') continue;
    providerNames.set(provider.id, provider.name || provider.id);
    const row = createRow(provider);
    wireRow(row);
    rows.set(provider.id, row);
    list.append(row.element);
  }
  $('loading').hidden = true;
  $('load-error').hidden = true;
  list.hidden = rows.size === 0;
  $('empty').hidden = rows.size !== 0;
}

async function loadProviders({ focusAfter = false } = {}) {
  showLoading();
  try {
    renderList(await api.getProviders());
    if (focusAfter) $('api-keys-heading').focus();
  } catch (err) {
    showLoadError(err);
    if (focusAfter) $('retry').focus();
    return;
  }
  await refreshUsage();
}

async function loadUser() {
  try {
    const me = await api.getMe();
    if (typeof me.id === 'string' && me.id) {
      $('whoami-name').textContent = me.id;
      $('whoami').hidden = false;
    }
  } catch {
    // The provider list reports the problem (e.g. "Not authenticated").
  }
}

/* ---- refreshing one row ---------------------------------------------------- */

/**
 * Bring `row` up to date after a change. `keys` is the masked key map the
 * PUT/DELETE answered with; it is used when the provider list cannot be
 * fetched right now (without it the row stays as it is).
 */
async function refreshRow(row, keys) {
  const id = row.provider.id;
  try {
    const providers = await api.getProviders();
    const fresh = providers.find((p) => p && p.id === id);
    if (fresh) {
      updateRow(row, fresh);
      return;
    }
  } catch {
    // fall through to the answer we already have
  }
  if (!keys) return; // nothing better known: leave the row as it is
  const field = row.provider.userKeyField;
  const masked = field ? keys[field] ?? null : null;
  const old = row.provider;
  updateRow(row, {
    ...old,
    userKey: {
      configured: masked !== null,
      masked,
      updatedAt: masked !== null ? new Date().toISOString() : null,
    },
    source: masked !== null ? 'user' : old.envKey ? 'env' : null,
    available: masked !== null || Boolean(old.envKey),
  });
}

/* ---- actions ------------------------------------------------------------- */

function closeEditor(row, editor) {
  editor.close();
  row.editButton.focus();
}

/** " It expires on 28 Dec 2026." for a key saved with an expiry, else "". */
function expirySentence(row, days) {
  if (days === null) return '';
  const at = parseTimestamp(row.provider.userKey && row.provider.userKey.expiresAt) ||
    new Date(Date.now() + days * 24 * 3600 * 1000);
  return ` It expires on ${formatUtcDay(at)}.`;
}

async function saveKey(row, editor, value) {
  if (row.busy) return; // a check of the stored key is running
  const name = displayName(row);
  const days = editor.expiresInDays();
  editor.clearError();
  clearRowMessages(row);
  editor.setBusy(true);
  setRowBusy(row, true);
  rowProgress(row, `Saving ${name} API key…`);
  try {
    const keys = await api.saveKey(row.provider.id, value.trim(), days);
    editor.close(); // empties the input: the page keeps no copy of the key
    await refreshRow(row, keys);
    setRowBusy(row, false);
    rowSuccess(row, `${name} API key saved successfully.${expirySentence(row, days)}`);
    row.editButton.focus();
    refreshUsage();
    refreshActivity();
  } catch (err) {
    await refreshRow(row); // the outcome is unknown: show what is stored
    refreshActivity();
    setRowBusy(row, false);
    clearRowMessages(row);
    editor.setBusy(false);
    // 400/422: the server refused the value itself; anything else (503,
    // network) is no fault of what was typed.
    editor.showError(err.message, { invalid: err.status === 400 || err.status === 422 });
    editor.input.focus();
  }
}

async function removeKey(row) {
  const name = displayName(row);
  const fallback = row.provider.envKey
    ? 'The system-wide key will be used instead.'
    : `${name} will be unavailable to you until you add a key again.`;
  const confirmed = await confirmDialog({
    title: `Remove your ${name} API key?`,
    text: `Your ${name} API key will be deleted from your profile. ${fallback}`,
    confirmLabel: 'Remove key',
    returnFocus: () => row.removeButton,
  });
  if (!confirmed) return;

  clearRowMessages(row);
  setRowBusy(row, true);
  rowProgress(row, `Removing ${name} API key…`);
  try {
    const keys = await api.removeKey(row.provider.id);
    await refreshRow(row, keys);
    setRowBusy(row, false);
    rowSuccess(row, `${name} API key removed successfully.`);
    (row.removeButton.hidden ? row.editButton : row.removeButton).focus();
    refreshUsage();
    refreshActivity();
  } catch (err) {
    await refreshRow(row); // the outcome is unknown: show what is stored
    refreshActivity();
    setRowBusy(row, false);
    rowError(row, err.message);
    (row.removeButton.hidden ? row.editButton : row.removeButton).focus();
  }
}

/** Focus `target` unless the person has moved on to something else. */
function keepFocus(target) {
  const active = document.activeElement;
  if (!active || active === document.body || active === target || active.disabled) {
    if (!target.hidden && target.isConnected) target.focus();
  }
}

/** Ask the provider about the key in effect (the user's, else the system's). */
async function verifyKey(row) {
  const name = displayName(row);
  const state = keyState(row.provider);
  const which = state === 'system' ? `the system-wide ${name} key` : `your ${name} key`;
  clearRowMessages(row);
  setRowBusy(row, true);
  setVerifyBusy(row, true);
  rowProgress(row, `Checking ${which} with ${name}…`);
  let result;
  try {
    result = await api.verifyKey(row.provider.id);
  } catch (err) {
    setVerifyBusy(row, false);
    // 400: no key in effect any more (changed elsewhere); 429: the monthly
    // allowance of the system-wide key is spent. Show the row as it is now.
    if (err.status === 400 || err.status === 429) await refreshRow(row);
    setRowBusy(row, false);
    rowError(row, `Could not check the key: ${sentence(err.message)}`);
    keepFocus(row.verifyButton.hidden ? row.editButton : row.verifyButton);
    refreshActivity();
    return;
  }
  // The row changes with the answer: the key checked may not be the one the
  // row shows (changed elsewhere), a refusal flags the user's key, the
  // check counts as a use, and a billed check spends the allowance.
  await refreshRow(row);
  setVerifyBusy(row, false);
  setRowBusy(row, false);
  if (result.valid === true) {
    rowSuccess(row, `${name} accepted the key.`);
  } else if (result.valid === false) {
    const advice = result.source === 'env'
      ? 'Ask your administrator to replace the system-wide key, or add your own.'
      : `Update it with a current key from ${name}.`;
    rowError(row, `${name} rejected the key: ${sentence(result.detail)} ${advice}`);
  } else {
    rowWarning(row, `Could not check the key: ${sentence(result.detail)}`);
  }
  keepFocus(row.verifyButton.hidden ? row.editButton : row.verifyButton);
  refreshUsage();
  refreshActivity();
}

/** Ask the provider about the key typed in the editor, without storing it. */
async function verifyCandidate(row, editor, value) {
  if (row.busy) return;
  const name = displayName(row);
  editor.clearError();
  editor.setBusy(true, 'verify');
  editor.showStatus(`Checking the key with ${name}…`, 'progress');
  try {
    const result = await api.verifyKey(row.provider.id, value.trim());
    editor.setBusy(false);
    if (result.valid === true) {
      editor.showStatus(`${name} accepted the key. Save it to use it.`, 'success');
    } else if (result.valid === false) {
      editor.clearError();
      editor.showError(`${name} rejected the key: ${sentence(result.detail)}`);
    } else {
      editor.showStatus(`Could not check the key: ${sentence(result.detail)}`, 'warning');
    }
  } catch (err) {
    editor.setBusy(false);
    editor.clearError();
    editor.showError(`Could not check the key: ${sentence(err.message)}`,
      { invalid: err.status === 400 || err.status === 422 });
  }
  keepFocus(editor.verify);
}

function wireRow(row) {
  row.editButton.setAttribute('aria-expanded', 'false');
  row.editButton.addEventListener('click', () => {
    if (row.busy) return;
    if (!row.editor) clearRowMessages(row);
    openEditor(row, {
      onSave: (editor, value) => saveKey(row, editor, value),
      onVerify: (editor, value) => verifyCandidate(row, editor, value),
      verifyNote: verifyIsBilled(row.provider) ? billedVerifyNote(displayName(row)) : null,
      onCancel: (editor) => {
        clearRowMessages(row);
        closeEditor(row, editor);
      },
    });
  });
  row.verifyButton.addEventListener('click', () => {
    if (!row.busy) verifyKey(row);
  });
  row.removeButton.addEventListener('click', () => {
    if (!row.busy) removeKey(row);
  });
}

/* ---- start --------------------------------------------------------------- */

function start() {
  if (location.pathname === '/profile/' || location.pathname === '/profile/index.html') {
    history.replaceState(null, '', '/profile/api-keys');
  }
  $('retry').addEventListener('click', () => {
    if ($('whoami').hidden) loadUser();
    // The same outage is likely to have stopped the Activity section too.
    loadProviders({ focusAfter: true }).then(() => refreshActivity());
  });
  // Back from a chat in another tab: show the new numbers.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && rows.size) {
      refreshUsage();
      refreshActivity();
    }
  });
  loadUser();
  // The Activity section names providers as the list does: it waits for it.
  loadProviders().finally(() => startActivity({ nameOf: (id) => providerNames.get(id) || id }));
}

start();
