// One row per provider, built from an entry of GET /api/providers.
//
// A row is created once and then updated in place (updateRow), so that an
// open editor, the focus and the nodes other code holds survive a refresh of
// the row's data. Every text from the API is set with textContent.
//
// Besides the key's mask and age a row tells when the key was last used,
// when it expires (with a warning in its last 7 days), that it expired or
// that the provider rejected it, and how much of the system-wide key's
// monthly allowance the user has spent (docs/api.md, Provider status).

import { el, timeNodes } from './dom.js';
import { createMessageElement } from './messages.js';
import {
  parseTimestamp, formatDate, formatAge, ageInDays, needsRotation, formatUsage, formatRelative,
  formatUtc, formatUtcDay, formatResetDay, formatCount,
} from './format.js';

const CHIPS = {
  configured: 'Configured',
  system: 'Using system key',
  none: 'Not configured',
  unreadable: 'Key unreadable',
  allowance: 'Allowance used up',
};

// An expiry this close is told in days ("in 12 days"), a later one by its date.
const EXPIRY_DAYS_SHOWN = 31;

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

/** One term of a row's key details: `<div class="key-detail key-detail-KIND"><dt>TERM</dt>VALUE</div>`. */
function detailItem(kind, term, value) {
  const item = el('div', `key-detail key-detail-${kind}`);
  item.append(el('dt', null, term), value);
  return item;
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
  const mask = el('dd', 'mask');
  const keyItem = detailItem('mask', 'Your key', mask);
  const updated = el('dd', 'updated');
  const updatedItem = detailItem('updated', 'Last updated', updated);
  const lastUsed = el('dd', 'last-used');
  const lastUsedItem = detailItem('last-used', 'Last used', lastUsed);
  const expires = el('dd', 'expires');
  const expiresItem = detailItem('expires', 'Expires', expires);
  // This month's requests and tokens (GET /api/users/me/usage), when known.
  const usage = el('dd', 'usage');
  const usageItem = detailItem('usage', 'This month', usage);
  usageItem.hidden = true;
  // The system-wide key's monthly allowance (systemKey), when it has one.
  const allowance = el('dd', 'allowance');
  const meter = el('meter', 'allowance-meter');
  meter.id = `${uid}-allowance-meter`;
  const allowanceText = el('span', 'allowance-text');
  allowanceText.id = `${uid}-allowance-text`;
  meter.setAttribute('aria-describedby', allowanceText.id);
  allowance.append(meter, allowanceText);
  const allowanceItem = detailItem('allowance', 'Allowance', allowance);
  allowanceItem.hidden = true;
  details.append(keyItem, updatedItem, lastUsedItem, expiresItem, usageItem, allowanceItem);

  // What needs the person's attention: an expired, rejected or soon
  // expiring key, a spent allowance.
  const expiredFlag = el('p', 'key-flag key-flag-problem expired-flag');
  const rejectedFlag = el('p', 'key-flag key-flag-problem rejected-flag');
  const expiringFlag = el('p', 'key-flag key-flag-warning expiring-flag');
  const allowanceFlag = el('p', 'key-flag key-flag-problem allowance-flag');

  const note = el('p', 'provider-note');
  const rotateHint = el('p', 'rotate-hint');
  const verifyHint = el('p', 'verify-hint');
  verifyHint.id = `${uid}-verify-hint`;
  main.append(titleLine, description, details, expiredFlag, rejectedFlag, expiringFlag,
    allowanceFlag, note, rotateHint, verifyHint);

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
      lastUsedItem, lastUsed, expiresItem, expires, allowanceItem, meter, allowanceText,
      expiredFlag, rejectedFlag, expiringFlag, allowanceFlag,
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
  // A spent allowance is why the system key cannot be had: the chip says so.
  const chipKind = allowanceSpent(provider, state) ? 'allowance' : state;

  p.name.textContent = name;
  p.chip.textContent = CHIPS[chipKind];
  p.chip.className = `chip chip-${chipKind}`;
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

  renderLastUsed(row, state, userKey);
  renderExpiry(row, state, userKey, provider, name);
  renderRejected(row, state, userKey, name);
  renderAllowance(row, provider, state);

  // The flags say what the note would: no second sentence about the fallback.
  const flagged = !p.expiredFlag.hidden || !p.allowanceFlag.hidden;
  p.note.textContent = flagged ? '' : noteFor(state, provider, name, userKey);
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

/** What happens without the user's key: a sentence ending "until then ...". */
function fallbackFor(provider, name) {
  return provider.envKey && provider.reason !== 'allowance'
    ? 'the system-wide key is used'
    : `no ${name} key is available to you`;
}

function renderLastUsed(row, state, userKey) {
  const p = row.parts;
  p.lastUsedItem.hidden = state !== 'configured' || !('lastUsedAt' in userKey);
  p.lastUsed.replaceChildren();
  if (p.lastUsedItem.hidden) return;
  const at = parseTimestamp(userKey.lastUsedAt);
  if (at) p.lastUsed.append(...timeNodes(at, formatRelative(at)));
  else p.lastUsed.append(el('span', 'mask-none', 'Never'));
}

function renderExpiry(row, state, userKey, provider, name) {
  const p = row.parts;
  const expiresAt = parseTimestamp(userKey.expiresAt);
  const soon = state === 'configured' && userKey.expiresSoon === true && Boolean(expiresAt);

  p.expiresItem.hidden = state !== 'configured' || !('expiresAt' in userKey);
  p.expires.replaceChildren();
  p.expires.classList.toggle('expires-soon', soon);
  if (!p.expiresItem.hidden) {
    if (!expiresAt) {
      p.expires.append(el('span', 'mask-none', 'Never'));
    } else if (expiresAt.getTime() - Date.now() <= EXPIRY_DAYS_SHOWN * 24 * 3600 * 1000) {
      p.expires.append(...timeNodes(expiresAt, formatRelative(expiresAt)),
        ` (${formatUtcDay(expiresAt)})`);
    } else {
      p.expires.append('on ', ...timeNodes(expiresAt, formatUtcDay(expiresAt)));
    }
  }

  p.expiringFlag.hidden = !soon;
  p.expiringFlag.textContent = soon
    ? `This key expires ${formatRelative(expiresAt)}, on ${formatUtc(expiresAt)}. ` +
      `Save a new key before then; after that ${fallbackFor(provider, name)}.`
    : '';

  const expiredAt = parseTimestamp(userKey.expiredAt);
  const expired = state !== 'configured' && state !== 'unreadable' && userKey.expired === true;
  p.expiredFlag.hidden = !expired;
  p.expiredFlag.textContent = expired
    ? `This key expired${expiredAt ? ` on ${formatUtc(expiredAt)}` : ''}. ` +
      `Add a new key; until then ${fallbackFor(provider, name)}.`
    : '';
}

function renderRejected(row, state, userKey, name) {
  const p = row.parts;
  const rejected = state === 'configured' && userKey.rejected === true;
  const at = parseTimestamp(userKey.rejectedAt);
  p.rejectedFlag.hidden = !rejected;
  p.rejectedFlag.textContent = rejected
    ? `${name} rejected this key${at ? ` on ${formatUtc(at)}` : ''}; ` +
      `replace it with a current key from ${name} (Update).`
    : '';
}

/**
 * Whether the user has spent the system key's allowance and has no key of
 * their own: the provider is not available (reason "allowance"), while the
 * source may still name the system key it would use (docs/api.md).
 */
function allowanceSpent(provider, state) {
  return provider.reason === 'allowance' && (state === 'none' || state === 'system');
}

/**
 * The meter of the system-wide key's allowance, on rows whose provider has
 * one, and the message when it is spent and no key of the user's stands in.
 */
function renderAllowance(row, provider, state) {
  const p = row.parts;
  const sk = provider.systemKey;
  const valid = sk && typeof sk === 'object' &&
    [sk.allowance, sk.used, sk.remaining].every((n) => Number.isFinite(n) && n >= 0) &&
    sk.allowance > 0;
  p.allowanceItem.hidden = !valid;
  const resetsAt = valid ? parseTimestamp(sk.resetsAt) : null;
  if (valid) {
    p.meter.setAttribute('aria-label',
      `Allowance of the system-wide ${provider.name || provider.id} key used this month`);
    p.meter.min = 0;
    p.meter.max = sk.allowance;
    p.meter.low = sk.allowance * 0.75;
    p.meter.high = sk.allowance * 0.9;
    p.meter.optimum = 0;
    p.meter.value = Math.min(sk.used, sk.allowance);
    p.meter.setAttribute('aria-valuetext',
      `${formatCount(sk.used)} of ${formatCount(sk.allowance)} tokens`);
    p.allowanceText.textContent = `${formatCount(sk.used)} of ${formatCount(sk.allowance)} ` +
      'tokens used this month' + (resetsAt ? `, resets ${formatResetDay(resetsAt)}` : '');
  } else {
    p.allowanceText.textContent = '';
  }

  const spent = allowanceSpent(provider, state);
  p.allowanceFlag.hidden = !spent;
  p.allowanceFlag.textContent = spent
    ? 'Monthly allowance of the system-wide key is used up. Add your own key to continue.' +
      (resetsAt ? ` The allowance starts again on ${formatResetDay(resetsAt)}.` : '')
    : '';
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
