// Page-wide feedback: the alert region (errors), the status region (success), and dialogs.
import { h, clear, field } from './dom.js';

const alertEl = () => document.getElementById('alert');
const statusEl = () => document.getElementById('status');

/** Shows an error sentence (an ApiError's `error`, or any message) in the role="alert" region. */
export function showError(errOrMessage) {
  if (errOrMessage && errOrMessage.handled) return;
  const el = alertEl();
  clear(el);
  el.append(
    h('p', {}, h('strong', {}, 'Error: '), errorSentence(errOrMessage)),
    h('button', { type: 'button', class: 'button-quiet alert-close', onclick: clearAlert }, 'Dismiss'),
  );
  el.classList.add('visible');
  clearStatus();
}

/** The sentence an error is shown with (the server's `error`, capitalised), e.g. beside a form. */
export function errorSentence(errOrMessage) {
  const message = typeof errOrMessage === 'string'
    ? errOrMessage
    : (errOrMessage && errOrMessage.message) || 'Something went wrong.';
  return humanise(errOrMessage, message);
}

// A few codes deserve more than the server's sentence.
function humanise(err, message) {
  const code = err && err.code;
  if (code === 'last_admin') {
    return `${sentence(message)} Make another user an admin first.`;
  }
  if (code === 'csrf_rejected') {
    return `${sentence(message)} Open the dashboard at the server's public address and try again.`;
  }
  if (err && err.status === 429) return `${sentence(message)} Too many requests: wait a moment and try again.`;
  return sentence(message);
}

function sentence(text) {
  const t = String(text).trim();
  if (!t) return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

export function clearAlert() {
  const el = alertEl();
  clear(el);
  el.classList.remove('visible');
}

export function showStatus(message) {
  const el = statusEl();
  el.textContent = message;
  el.classList.toggle('visible', Boolean(message));
}

export function clearStatus() {
  showStatus('');
}

let flash = null;
/** A status message for the next page shown (navigation clears the current one). */
export function flashStatus(message) {
  flash = message;
}
export function takeFlash() {
  const message = flash;
  flash = null;
  return message;
}

/** Runs an async action, showing any error; returns its result or undefined on failure. */
export async function attempt(fn, busyButton) {
  clearAlert();
  clearStatus();
  if (busyButton) busyButton.disabled = true;
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    if (busyButton) busyButton.disabled = false;
  }
}

/** Refreshes after an action: shows an error if any, but keeps the action's status message. */
export async function quietly(fn) {
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}

/**
 * A modal confirmation. Resolves true when confirmed. `danger` styles the confirm button red.
 * `fields`: [{name, label, type, ...attrs}] adds inputs; then it resolves with their values
 * (an object) instead of true, or null when cancelled.
 */
export function confirmDialog({ title, message, confirmLabel = 'OK', danger = false, fields }) {
  const dialog = document.getElementById('dialog');
  const body = clear(document.getElementById('dialog-body'));
  document.getElementById('dialog-title').textContent = title;
  const ok = document.getElementById('dialog-ok');
  ok.textContent = confirmLabel;
  ok.classList.toggle('danger', danger);
  if (message) body.append(h('p', {}, message));
  const inputs = {};
  for (const { name, label, ...attrs } of fields || []) {
    const f = field(label, attrs);
    inputs[name] = f.input;
    body.append(f.wrap);
  }
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'ok';
      if (!fields) resolve(confirmed);
      else if (!confirmed) resolve(null);
      else resolve(Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value])));
      clear(body);
    }, { once: true });
    dialog.showModal();
    const first = Object.values(inputs)[0];
    (first || (danger ? document.getElementById('dialog-cancel') : ok)).focus();
  });
}
