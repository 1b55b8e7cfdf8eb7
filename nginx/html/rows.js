// One row per provider, built from an entry of GET /api/providers.
//
// A row is created once and then updated in place (updateRow), so that an
// open editor, the focus and the nodes other code holds survive a refresh of
// the row's data. Every text from the API is set with textContent.

import { el } from './dom.js';
import { createMessageElement } from './messages.js';
import {
  parseTimestamp, formatDate, formatAge, ageInDays, needsRotation, formatUsage,
} from './format.js';

const CHIPS = {
  configured: 'Configured',
  system: 'Using system key',
  none: 'Not configured',
  unreadable: 'Key unreadable',
};

/**
 * Whether checking a key with this provider costs money: the API says so
 * (verifyBilled) for a provider without a free authenticated request, such as
 * Perplexity, whose verify is a 1-token completion billed to the key.
 */
export function verifyIsBilled(provider) {
  return provider.verifyBilled === true;
}

export function billedVerifyNote(name) {
  return `${name} has no free way to check a key: Verify sends a 1-token request, ` +
    'which is billed to the key.';
}

/**
 * Which of the four states a provider is in for this user:
 * "unreadable" (stored key cannot be decrypted), "configured" (user key),
 * "system" (the system-wide key applies) or "none".
 */
export function keyState(provider) {
  const userKey = provider.userKeys !== false ? provider.userKey || {} : {};
  if (userKey.error) return 'unreadable';
  if (userKey.configured) return 'configured';
  if (provider.source === 'env') return 'system';
  if ((provider.source === null || provider.source === undefined) && provider.envKey && provider.available !== false) return 'system';
  return 'none';
}

/** A button whose accessible name is its visible label plus a hidden suffix. */
function actionButton(className) {
  const button = el('button', `button ${className}`);
  button.type = 'button';
  const label = el('span', 'button-label');
  const suffix = el('span', 'visually-hidden');
  button.append(label, suffix);
  return { button, label, suffix };
}

let rowCount = 0;

/** Build the DOM for `provider`; returns the row object (see fields below). */
export function createRow(provider) {
  const uid = `p${++rowCount}`;
  const li = el('li', 'provider');
  li.dataset.provider = provider.id;
  li.id = `provider-${uid}`;

  const main = el('div', 'provider-main');
  const titleLine = el('div', 'provider-title');
  const name = el('h3', 'provider-name');
  name.id = `${uid}-name`;
  const chip = el('span', 'chip');
  titleLine.append(name, chip);

  const description = el('p', 'provider-description');

  const details = el('dl', 'key-details');
  const keyItem = el('div', 'key-detail key-detail-mask');
  const mask = el('dd', 'mask');
  keyItem.append(el('dt', null, 'Your key'), mask);
  const updatedItem = el('div', 'key-detail key-detail-updated');
  const updated = el('dd', 'updated');
  updatedItem.append(el('dt', null, 'Last updated'), updated);
  // This month's requests and tokens (GET /api/users/me/usage), when known.
  const usageItem = el('div', 'key-detail key-detail-usage');
  const usage = el('dd', 'usage');
  usageItem.append(el('dt', null, 'This month'), usage);
  usageItem.hidden = true;
  details.append(keyItem, updatedItem, usageItem);

  const note = el('p', 'provider-note');
  const rotateHint = el('p', 'rotate-hint');
  const verifyHint = el('p', 'verify-hint');
  verifyHint.id = `${uid}-verify-hint`;
  main.append(titleLine, description, details, note, rotateHint, verifyHint);

  const actions = el('div', 'provider-actions');
  const edit = actionButton('edit-button');
  const verify = actionButton('verify-button');
  verify.label.textContent = 'Verify';
  const remove = actionButton('remove-button');
  remove.label.textContent = 'Remove';
  actions.append(edit.button, verify.button, remove.button);

  const editorSlot = el('div', 'editor-slot');
  // Progress and success are polite; a failure of Remove is an alert.
  const message = createMessageElement('status', 'row-message');
  const alert = createMessageElement('alert', 'row-alert');

  li.append(main, actions, editorSlot, message, alert);

  const row = {
    element: li,
    provider: null,
    actions,
    editorSlot,
    message,
    alert,
    editButton: edit.button,
    verifyButton: verify.button,
    removeButton: remove.button,
    editor: null, // set by the editor while it is open
    busy: false,
    usage: null, // {requests, inputTokens, outputTokens} once known
    parts: { name, chip, description, keyItem, mask, updatedItem, updated, usageItem, usage, note,
      rotateHint, verifyHint, editLabel: edit.label, editSuffix: edit.suffix,
      verifyLabel: verify.label, verifySuffix: verify.suffix, removeSuffix: remove.suffix },
  };
  updateRow(row, provider);
  return row;
}

/** Bring the row up to date with `provider`; leaves the editor alone. */
export function updateRow(row, provider) {
  const p = row.parts;
  const state = keyState(provider);
  const userKeys = provider.userKeys !== false;
  const userKey = (userKeys && provider.userKey) || {};
  const name = provider.name || provider.id;

  row.provider = provider;
  row.element.dataset.state = state;

  p.name.textContent = name;
  p.chip.textContent = CHIPS[state];
  p.chip.className = `chip chip-${state}`;
  p.description.textContent = provider.description || '';
  p.description.hidden = !provider.description;

  // The stored key: only the server's mask ever reaches the page.
  p.keyItem.hidden = !userKeys;
  p.mask.replaceChildren();
  if (userKey.masked) {
    p.mask.append(el('code', 'mask-value', userKey.masked));
  } else if (state === 'unreadable') {
    p.mask.append(el('span', 'mask-none', 'Stored key cannot be read'));
  } else {
    p.mask.append(el('span', 'mask-none', 'No API key configured'));
  }

  const updatedAt = userKeys ? parseTimestamp(userKey.updatedAt) : null;
  p.updatedItem.hidden = !updatedAt;
  p.updated.replaceChildren();
  p.rotateHint.hidden = true;
  p.rotateHint.textContent = '';
  if (updatedAt) {
    const time = el('time', null, formatDate(updatedAt));
    time.dateTime = updatedAt.toISOString();
    p.updated.append(time, ` (${formatAge(updatedAt)})`);
    if (state === 'configured' && needsRotation(updatedAt)) {
      p.rotateHint.textContent = `This key is ${ageInDays(updatedAt)} days old. ` +
        `Consider rotating it: create a new key with ${name}, save it here with Update, ` +
        'then revoke the old one.';
      p.rotateHint.hidden = false;
    }
  }

  p.note.textContent = noteFor(state, provider, name, userKey);
  p.note.hidden = !p.note.textContent;
  p.note.classList.toggle('provider-note-problem', state === 'unreadable');

  // Controls: none at all for providers that only take a system key.
  row.actions.hidden = !userKeys;
  const hasStoredKey = state === 'configured' || state === 'unreadable';
  p.editLabel.textContent = hasStoredKey ? 'Update' : 'Add key';
  p.editSuffix.textContent = ` ${name} API key`;
  p.removeSuffix.textContent = ` ${name} API key`;
  row.removeButton.hidden = !hasStoredKey;

  // Verify: whenever a key is in effect, the user's own or the system-wide one.
  const canVerify = state === 'configured' || state === 'system';
  row.verifyButton.hidden = !canVerify;
  p.verifySuffix.textContent = state === 'system' ? ` system-wide ${name} API key` : ` ${name} API key`;
  const billed = canVerify && verifyIsBilled(provider);
  p.verifyHint.textContent = billed ? billedVerifyNote(name) : '';
  p.verifyHint.hidden = !billed;
  if (billed) {
    row.verifyButton.title = 'Sends a 1-token request, billed to the key';
    row.verifyButton.setAttribute('aria-describedby', p.verifyHint.id);
  } else {
    row.verifyButton.removeAttribute('title');
    row.verifyButton.removeAttribute('aria-describedby');
  }

  renderUsage(row);
}

/**
 * Show `usage` ({requests, inputTokens, outputTokens}, or null when unknown)
 * in the row. Shown for providers the user can call, and for any with
 * requests this month; left out when the usage could not be fetched.
 */
export function setRowUsage(row, usage) {
  row.usage = usage || null;
  renderUsage(row);
}

function renderUsage(row) {
  const p = row.parts;
  const usage = row.usage;
  const show = Boolean(usage) && (row.provider.available === true || usage.requests > 0);
  p.usageItem.hidden = !show;
  p.usage.textContent = show ? formatUsage(usage) : '';
}

function noteFor(state, provider, name, userKey) {
  if (provider.userKeys === false) {
    return state === 'system'
      ? `Keys for ${name} are managed by your administrator; the system-wide key is used.`
      : `${name} is not available: keys for it are managed by your administrator and none is set.`;
  }
  switch (state) {
    case 'unreadable':
      return `Your stored key cannot be used${userKey.error ? ` (${userKey.error})` : ''}. ` +
        'The system-wide key is not used in its place. Update or remove your key.';
    case 'configured':
      return provider.envKey
        ? 'Your key is used; it takes precedence over the system-wide key.'
        : 'Your key is used.';
    case 'system':
      return 'The system-wide key set by your administrator is used. Add your own key to use it instead.';
    default:
      return `Add a key to use ${name}.`;
  }
}

/** Show that the key is being checked (on top of setRowBusy). */
export function setVerifyBusy(row, busy) {
  row.parts.verifyLabel.textContent = busy ? 'Checking…' : 'Verify';
  row.verifyButton.classList.toggle('is-busy', busy);
}

/** Mark the row as working (controls disabled) or idle again. */
export function setRowBusy(row, busy) {
  row.busy = busy;
  row.element.setAttribute('aria-busy', busy ? 'true' : 'false');
  row.editButton.disabled = busy;
  row.removeButton.disabled = busy;
  for (const control of row.actions.querySelectorAll('button')) control.disabled = busy;
}
