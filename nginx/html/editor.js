// The inline editor of one row: a password input with a show/hide toggle,
// an expiry (never, or 30, 90 or 365 days from now: sent as expiresInDays),
// Save (disabled while the trimmed input is empty; Enter saves), "Verify
// before saving" (asks the provider about the typed key without storing it)
// and Cancel (Escape cancels).
//
// The editor never keeps the key anywhere but in its input: `onSave` gets
// the value, and on success the caller closes the editor, which empties the
// input before removing it.

import { el } from './dom.js';
import { createMessageElement, showMessage, clearMessage } from './messages.js';

// The expiry choices: days from now, '' for never (docs/api.md, expiresInDays).
const EXPIRY_CHOICES = [['', 'Never'], ['30', 'In 30 days'], ['90', 'In 90 days'], ['365', 'In 365 days']];

/** The labelled expiry select with its help text; ids derive from `base`. */
function expiryField(base) {
  const field = el('div', 'editor-expiry');
  const label = el('label', 'editor-label', 'Key expires');
  label.htmlFor = `${base}-expiry`;
  const select = el('select', 'expiry-select');
  select.id = `${base}-expiry`;
  select.name = 'expiresInDays';
  for (const [value, text] of EXPIRY_CHOICES) {
    const option = el('option', null, text);
    option.value = value;
    select.append(option);
  }
  const help = el('p', 'editor-help',
    'An expired key is deleted. You are warned 7 days before, here on this page.');
  help.id = `${base}-expiry-help`;
  select.setAttribute('aria-describedby', help.id);
  field.append(label, select, help);
  return { field, select };
}

/**
 * Open the editor in `row.editorSlot` (or focus it when already open).
 * `onSave(editor, value)` is called on submit; `onVerify(editor, value)` on
 * "Verify before saving"; `onCancel(editor)` on Cancel or Escape.
 * `verifyNote`, when given, says what verifying costs. Returns the editor.
 */
export function openEditor(row, { onSave, onCancel, onVerify, verifyNote }) {
  if (row.editor) {
    row.editor.input.focus();
    return row.editor;
  }
  const provider = row.provider;
  const name = provider.name || provider.id;
  const base = `${row.element.id}-editor`;

  const form = el('form', 'editor');
  form.id = base;
  form.noValidate = true;

  const label = el('label', 'editor-label', `${name} API key`);
  label.htmlFor = `${base}-input`;

  const group = el('div', 'input-group');
  const input = el('input', 'key-input');
  input.type = 'password';
  input.id = `${base}-input`;
  input.name = 'apiKey';
  input.placeholder = `Enter your ${name} API key`;
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.setAttribute('autocapitalize', 'off');
  input.setAttribute('autocorrect', 'off');
  input.setAttribute('aria-describedby', `${base}-help ${base}-error ${base}-status`);

  const toggle = el('button', 'button button-quiet toggle-visibility');
  toggle.type = 'button';
  toggle.setAttribute('aria-controls', input.id);
  const toggleLabel = el('span', 'button-label', 'Show');
  toggle.append(toggleLabel, el('span', 'visually-hidden', ' key'));
  group.append(input, toggle);

  const help = el('p', 'editor-help',
    'Stored encrypted. After saving, only the first 3 and last 4 characters are shown. ' +
    'Enter saves, Escape cancels.');
  help.id = `${base}-help`;

  const error = createMessageElement('alert', 'editor-error');
  error.id = `${base}-error`;
  // The result of "Verify before saving" when it is not a refusal.
  const status = createMessageElement('status', 'editor-status');
  status.id = `${base}-status`;

  const buttons = el('div', 'editor-actions');
  const save = el('button', 'button button-primary save-button');
  save.type = 'submit';
  const saveLabel = el('span', 'button-label', 'Save');
  save.append(saveLabel);
  save.disabled = true;
  const verify = el('button', 'button verify-candidate-button');
  verify.type = 'button';
  const verifyLabel = el('span', 'button-label', 'Verify before saving');
  verify.append(verifyLabel);
  verify.disabled = true;
  verify.hidden = !onVerify;
  const cancel = el('button', 'button cancel-button', 'Cancel');
  cancel.type = 'button';
  buttons.append(save, verify, cancel);

  const expiry = expiryField(base);
  const parts = [label, group, help, expiry.field];
  if (onVerify && verifyNote) {
    const note = el('p', 'editor-help editor-verify-note', verifyNote);
    note.id = `${base}-verify-note`;
    verify.setAttribute('aria-describedby', note.id);
    verify.title = 'Sends a 1-token request, billed to the key';
    parts.push(note);
  }
  form.append(...parts, error, status, buttons);

  const empty = () => input.value.trim() === '';

  const editor = {
    row, form, input, toggle, save, verify, cancel, error, status, busy: false,
    expiry: expiry.select,

    /** The expiry chosen: a number of days, or null for never. */
    expiresInDays() {
      return expiry.select.value ? Number(expiry.select.value) : null;
    },

    /** `action` is "save" or "verify": which button shows the progress. */
    setBusy(busy, action = 'save') {
      editor.busy = busy;
      form.setAttribute('aria-busy', busy ? 'true' : 'false');
      input.disabled = busy;
      expiry.select.disabled = busy;
      toggle.disabled = busy;
      cancel.disabled = busy;
      save.disabled = busy || empty();
      verify.disabled = busy || empty();
      saveLabel.textContent = busy && action === 'save' ? 'Saving…' : 'Save';
      save.classList.toggle('is-busy', busy && action === 'save');
      verifyLabel.textContent = busy && action === 'verify' ? 'Checking…' : 'Verify before saving';
      verify.classList.toggle('is-busy', busy && action === 'verify');
    },

    /** Say something about the typed key that is not an error. */
    showStatus(text, kind) {
      showMessage(status, text, kind);
    },

    /** Show why saving failed; `invalid` marks the typed value as the cause. */
    showError(text, { invalid = true } = {}) {
      if (invalid) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      showMessage(error, text, 'error');
    },

    clearError() {
      input.removeAttribute('aria-invalid');
      clearMessage(error);
      clearMessage(status);
    },

    /** Empty the input and remove the editor from the page. */
    close() {
      input.value = '';
      form.remove();
      row.editor = null;
      row.editButton.setAttribute('aria-expanded', 'false');
      row.editButton.removeAttribute('aria-controls');
    },
  };

  const updateSave = () => {
    if (!editor.busy) {
      save.disabled = empty();
      verify.disabled = empty();
    }
  };
  input.addEventListener('input', () => {
    updateSave();
    // A result about the previous value no longer applies.
    if (!error.hidden || !status.hidden) editor.clearError();
  });

  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggleLabel.textContent = show ? 'Hide' : 'Show';
    toggle.classList.toggle('is-shown', show);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (editor.busy || input.value.trim() === '') return;
    onSave(editor, input.value);
  });

  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !editor.busy) {
      event.preventDefault();
      event.stopPropagation();
      onCancel(editor);
    }
  });
  cancel.addEventListener('click', () => onCancel(editor));
  verify.addEventListener('click', () => {
    if (editor.busy || empty() || !onVerify) return;
    onVerify(editor, input.value);
  });

  row.editor = editor;
  row.editorSlot.append(form);
  row.editButton.setAttribute('aria-expanded', 'true');
  row.editButton.setAttribute('aria-controls', form.id);
  input.focus();
  return editor;
}
