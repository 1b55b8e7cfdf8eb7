// The API Keys tab of the profile page: loads the signed-in user and the
// provider rows, and carries out Add/Update (editor) and Remove (dialog).
//
// After a change only the affected row is refreshed (from GET /api/providers),
// in place: other rows, their open editors and the focus are left alone.

import * as api from './api.js';
import { createRow, updateRow, setRowBusy } from './rows.js';
import { openEditor } from './editor.js';
import { confirmDialog } from './dialog.js';
import { showMessage, clearMessage } from './messages.js';

const $ = (id) => document.getElementById(id);
const rows = new Map(); // provider id -> row

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
  }
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
 * fetched right now.
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
  const masked = keys ? keys[`${id}ApiKey`] ?? null : null;
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

async function saveKey(row, editor, value) {
  const name = displayName(row);
  editor.clearError();
  clearRowMessages(row);
  editor.setBusy(true);
  setRowBusy(row, true);
  rowProgress(row, `Saving ${name} API key…`);
  try {
    const keys = await api.saveKey(row.provider.id, value.trim());
    editor.close(); // empties the input: the page keeps no copy of the key
    await refreshRow(row, keys);
    setRowBusy(row, false);
    rowSuccess(row, `${name} API key saved successfully.`);
    row.editButton.focus();
  } catch (err) {
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
  } catch (err) {
    setRowBusy(row, false);
    rowError(row, err.message);
    row.removeButton.focus();
  }
}

function wireRow(row) {
  row.editButton.setAttribute('aria-expanded', 'false');
  row.editButton.addEventListener('click', () => {
    if (row.busy) return;
    if (!row.editor) clearRowMessages(row);
    openEditor(row, {
      onSave: (editor, value) => saveKey(row, editor, value),
      onCancel: (editor) => {
        clearRowMessages(row);
        closeEditor(row, editor);
      },
    });
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
    loadProviders({ focusAfter: true });
  });
  loadUser();
  loadProviders();
}

start();
