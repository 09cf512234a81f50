// Modal dialogs that take the touch themselves. A dialog lies on its own full-screen layer above the page:
// a touch on the shaded backdrop lands on the layer and does nothing, a dialog closes only from the click of
// one of its own buttons (the last event of a tap), and while any dialog is open the page beneath is
// `inert`, so no touch can ever reach a control under a dialog, not even one that ends as it closes.
import { h, button } from './ui.js';

const openDialogs = [];

function setInert(on) {
  const shell = document.getElementById('shell');
  if (shell) shell.inert = on;
}

// openDialog({title, message, content, actions: [{label, onTap(dialog), primary}], warn, id, top})
// → {el, close()}. `top` keeps the dialog above every other one (the session countdown).
export function openDialog({ title, message, content, actions = [], warn = false, id, top = false }) {
  const titleId = `dialog-title-${openDialogs.length + 1}-${Date.now()}`;
  const handle = {};
  const box = h('div', { class: `dialog${warn ? ' warn' : ''}`, role: 'alertdialog', 'aria-modal': 'true',
    'aria-labelledby': titleId, id },
  h('h1', { id: titleId }, title),
  message ? h('p', { class: 'message' }, message) : null,
  content || null,
  actions.length ? h('div', { class: 'row' }, actions.map((a) =>
    button(a.label, () => a.onTap(handle), a.primary ? 'primary big' : `big${a.cls ? ' ' + a.cls : ''}`))) : null);
  const layer = h('div', { class: 'layer', dataset: { top: top ? '1' : '' } }, box);
  if (top) layer.style.zIndex = '45';
  // The backdrop belongs to the dialog: its touches go nowhere.
  layer.addEventListener('click', (e) => { if (e.target === layer) { e.preventDefault(); e.stopPropagation(); } });
  document.getElementById('layers').append(layer);
  handle.el = box;
  handle.open = true;
  handle.close = () => {
    if (!handle.open) return;
    handle.open = false;
    layer.remove();
    openDialogs.splice(openDialogs.indexOf(handle), 1);
    if (!openDialogs.length) setInert(false);
  };
  openDialogs.push(handle);
  setInert(true);
  const first = box.querySelector('button');
  if (first) first.focus({ preventScroll: true });
  return handle;
}

export function anyDialogOpen() { return openDialogs.length > 0; }

export function closeAllDialogs() {
  for (const d of [...openDialogs]) d.close();
}

// A question with two answers: resolves true for `yes`, false for `no`.
export function confirmDialog({ title, message, yes, no, warn = true }) {
  return new Promise((resolve) => {
    openDialog({ title, message, warn, actions: [
      { label: no, primary: true, onTap: (d) => { d.close(); resolve(false); } },
      { label: yes, cls: 'danger', onTap: (d) => { d.close(); resolve(true); } },
    ] });
  });
}

// Inside a dialog layer (its own touches are the dialog's business, not page activity).
export function inDialog(target) {
  return Boolean(target && target.closest && target.closest('#layers'));
}
