import { api } from '../api.js';
import { h, clear, formatBytes, formatNumber, formatDate } from '../dom.js';
import { showError } from '../ui.js';

export async function renderUsage(target, ctx) {
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading usage…'));
  const isAdmin = ctx.user.role === 'admin';
  let all = false;
  const allToggle = isAdmin
    ? h('label', { class: 'checkbox' },
      h('input', {
        type: 'checkbox',
        onchange: (e) => {
          all = e.currentTarget.checked;
          load().catch(showError);
        },
      }),
      ' Every user (admin)')
    : null;

  async function load() {
    let data;
    try {
      data = await api('GET', '/v1/usage/summary', undefined, { query: all ? { all: 'true' } : undefined });
    } catch (err) {
      if (!ctx.isCurrent()) return;
      if (err.status === 404) {
        clear(body).append(h('div', { class: 'card notice' },
          h('h2', {}, 'Usage is not available yet'),
          h('p', {}, 'Usage is not available yet on this server: storage and bandwidth will show here once it is.')));
        if (allToggle) allToggle.hidden = true;
        return;
      }
      clear(body);
      throw err;
    }
    if (!ctx.isCurrent()) return;
    clear(body).append(usageReport(data));
  }

  target.append(h('div', { class: 'page-head' }, h('h1', {}, 'Usage'), allToggle), body);
  await load();
}

function describePeriod(period) {
  if (!period) return 'this month';
  if (typeof period === 'string') return period;
  if (typeof period === 'object') {
    const start = period.start || period.from;
    const end = period.end || period.to;
    if (start && end) return `${formatDate(start)} – ${formatDate(end)}`;
    return JSON.stringify(period);
  }
  return String(period);
}

function stat(label, value, detail) {
  return h('div', { class: 'stat' },
    h('dt', {}, label),
    h('dd', {}, h('span', { class: 'stat-value' }, value), detail ? h('span', { class: 'stat-detail' }, detail) : null));
}

function usageReport(d) {
  const period = describePeriod(d.period);
  const stats = h('dl', { class: 'stats' },
    stat('Storage', formatBytes(d.storage_bytes), `originals ${formatBytes(d.original_bytes)} · variants ${formatBytes(d.variant_bytes)}`),
    stat('Bandwidth', formatBytes(d.bandwidth_bytes), period),
    stat('Image requests', formatNumber(d.requests), period),
    stat('Assets', formatNumber(d.asset_count)));

  const bars = [
    ['Originals', d.original_bytes],
    ['Variants', d.variant_bytes],
    ['Storage total', d.storage_bytes],
    [`Bandwidth (${period})`, d.bandwidth_bytes],
  ].filter(([, v]) => typeof v === 'number');

  const breakdown = Object.entries(d).find(([, v]) => Array.isArray(v) && v.length && typeof v[0] === 'object');
  return h('div', {},
    stats,
    h('section', { class: 'card', 'aria-labelledby': 'chart-title' },
      h('h2', { id: 'chart-title' }, 'Storage and bandwidth'),
      barChart(bars)),
    breakdown ? breakdownTable(breakdown[0], breakdown[1]) : null);
}

/** A horizontal bar chart as an inline SVG built with DOM calls (no inline styles: CSP). */
export function barChart(rows) {
  const width = 640;
  const labelWidth = 190;
  const valueWidth = 90;
  const rowHeight = 34;
  const barMax = width - labelWidth - valueWidth;
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const height = rows.length * rowHeight + 8;
  const summary = rows.map(([label, v]) => `${label}: ${formatBytes(v)}`).join('; ');
  const svg = h('svg:svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'chart',
    role: 'img',
    'aria-label': `Bar chart. ${summary}`,
    preserveAspectRatio: 'xMinYMin meet',
  });
  rows.forEach(([label, value], i) => {
    const y = i * rowHeight + 4;
    const w = value > 0 ? Math.max(2, Math.round((value / max) * barMax)) : 0;
    svg.append(
      h('svg:text', { x: 0, y: y + 19, class: 'chart-label' }, label),
      h('svg:rect', { x: labelWidth, y, width: barMax, height: 24, rx: 4, class: 'chart-track' }),
      h('svg:rect', { x: labelWidth, y, width: w, height: 24, rx: 4, class: `chart-bar chart-bar-${i}` },
        h('svg:title', {}, `${label}: ${formatBytes(value)}`)),
      h('svg:text', { x: width, y: y + 19, class: 'chart-value', 'text-anchor': 'end' }, formatBytes(value)),
    );
  });
  return svg;
}

function breakdownTable(name, rows) {
  const cols = Object.keys(rows[0]);
  const title = name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  const show = (k, v) => (typeof v === 'number' && k.endsWith('_bytes') ? formatBytes(v)
    : typeof v === 'number' ? formatNumber(v) : v === null || v === undefined ? '—' : String(v));
  return h('section', { class: 'card', 'aria-labelledby': 'breakdown-title' },
    h('h2', { id: 'breakdown-title' }, title),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c.replace(/_/g, ' '))))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, show(c, r[c])))))))));
}
