// Small DOM helpers: every element is built with textContent / properties, never innerHTML,
// so nothing the API returns can inject markup.

/**
 * h('button', {type: 'button', class: 'x', onclick: fn, 'aria-label': '…'}, 'text', child, …)
 * Properties starting with "on" become event listeners; `class`, `for`, `aria-*`, `data-*`
 * and unknown names become attributes; `hidden`, `disabled`, `value`, `checked`… are set as properties.
 */
export function h(tag, props, ...children) {
  const el = tag.includes(':')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1])
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (!(el instanceof SVGElement) && key in el && !key.includes('-') && key !== 'for' && key !== 'list') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let idCounter = 0;
/** A unique id for label/for and aria-describedby pairs. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: returns {wrap, input}. `type: 'select'` takes `options: [[value, text]]`. */
export function field(label, { type = 'text', hint, options, ...attrs } = {}) {
  const id = uid('field');
  let input;
  if (type === 'select') {
    input = h('select', { id, ...attrs }, options.map(([value, text]) => h('option', { value }, text)));
    if (attrs.value !== undefined) input.value = attrs.value;
  } else if (type === 'textarea') {
    input = h('textarea', { id, ...attrs });
  } else {
    input = h('input', { id, type, ...attrs });
  }
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
  return { wrap, input };
}

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
  return `${value.toFixed(value < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

export function formatNumber(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A <time> element for an ISO date, or an em dash ("never") when missing. */
export function timeEl(iso, missing = '—') {
  if (!iso) return h('span', { class: 'muted' }, missing);
  return h('time', { datetime: iso, title: iso }, formatDate(iso));
}

/** Copies text; falls back to selecting a field when the Clipboard API is unavailable. */
export async function copyText(text, fallbackInput) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallbackInput) {
      fallbackInput.focus();
      fallbackInput.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}
