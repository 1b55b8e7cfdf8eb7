// The confirmation dialog (the <dialog id="remove-dialog"> of index.html).
//
// showModal() makes the rest of the page inert, moves focus into the dialog
// (to Cancel, the safe choice) and lets Escape cancel; when the dialog closes
// focus goes back to the element that opened it, or to `returnFocus()`.

const dialog = () => document.getElementById('remove-dialog');

/**
 * Ask a yes/no question. Resolves true when the person confirms, false on
 * Cancel, Escape or a click outside the dialog.
 * `returnFocus` is called after closing and returns the element to focus.
 */
export function confirmDialog({ title, text, confirmLabel, returnFocus }) {
  const d = dialog();
  d.querySelector('#remove-dialog-title').textContent = title;
  d.querySelector('#remove-dialog-text').textContent = text;
  d.querySelector('#remove-dialog-confirm').textContent = confirmLabel;
  const opener = document.activeElement;

  return new Promise((resolve) => {
    const onClick = (event) => {
      // A click on the backdrop lands on the <dialog> itself.
      if (event.target === d) d.close('cancel');
    };
    const onClose = () => {
      d.removeEventListener('close', onClose);
      d.removeEventListener('click', onClick);
      const confirmed = d.returnValue === 'confirm';
      const target = (returnFocus && returnFocus(confirmed)) || opener;
      if (target && target.isConnected && typeof target.focus === 'function') target.focus();
      resolve(confirmed);
    };
    d.addEventListener('close', onClose);
    d.addEventListener('click', onClick);
    d.returnValue = 'cancel';
    d.showModal();
    d.querySelector('#remove-dialog-cancel').focus();
  });
}
