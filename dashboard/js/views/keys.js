import { api } from '../api.js';
import { h, clear, field, timeEl, copyText } from '../dom.js';
import { attempt, confirmDialog, quietly, showStatus } from '../ui.js';

export async function renderKeys(target, ctx) {
  const name = field('Key name', {
    name: 'name', required: true, maxlength: 100, autocomplete: 'off',
    hint: 'What the key is for, e.g. "CI" or "website backend".',
  });
  const create = h('button', { type: 'submit' }, 'Create key');
  // The new secret lives only in this element, never in storage: a reload forgets it.
  const secretSlot = h('div');
  const tableSlot = h('div', { class: 'table-wrap' });

  const form = h('form', {
    class: 'inline-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const created = await attempt(() => api('POST', '/v1/api-keys', { name: name.input.value.trim() }), create);
      if (!created) return;
      form.reset();
      showSecret(secretSlot, created);
      showStatus(`Key "${created.name}" created. Copy its secret now.`);
      await quietly(load);
    },
  }, name.wrap, create);

  async function load() {
    const data = await api('GET', '/v1/api-keys');
    if (!ctx.isCurrent()) return;
    clear(tableSlot).append(keysTable(data.api_keys || [], revoke));
  }

  async function revoke(key, button) {
    const yes = await confirmDialog({
      title: 'Revoke this key?',
      message: `Requests using "${key.name}" (${key.key_id}) will be refused at once. This cannot be undone.`,
      confirmLabel: 'Revoke key',
      danger: true,
    });
    if (!yes) return;
    const done = await attempt(() => api('POST', `/v1/api-keys/${encodeURIComponent(key.key_id)}/revoke`), button);
    if (!done) return;
    showStatus(`Key "${key.name}" revoked.`);
    await quietly(load);
  }

  target.append(
    h('h1', {}, 'API keys'),
    h('p', { class: 'muted' },
      'Keys let your servers and the SDKs call the API as you: send ',
      h('code', {}, 'Authorization: ApiKey <key_id>:<key_secret>'),
      '. Keys cannot manage keys or change your password.'),
    h('section', { class: 'card', 'aria-labelledby': 'new-key-title' },
      h('h2', { id: 'new-key-title' }, 'Create a key'), form, secretSlot),
    h('section', { 'aria-labelledby': 'key-list-title' },
      h('h2', { id: 'key-list-title' }, 'Your keys'), tableSlot),
  );
  tableSlot.append(h('p', { class: 'loading' }, 'Loading keys…'));
  await load();
}

function showSecret(slot, created) {
  const secret = field('Key secret', { value: created.key_secret, readOnly: true, class: 'mono', spellcheck: false });
  const keyId = field('Key ID', { value: created.key_id, readOnly: true, class: 'mono', spellcheck: false });
  const copy = h('button', {
    type: 'button',
    onclick: async () => {
      const ok = await copyText(created.key_secret, secret.input);
      showStatus(ok ? 'Secret copied to the clipboard.' : 'Copy failed: select the secret and copy it by hand.');
    },
  }, 'Copy secret');
  const copyId = h('button', {
    type: 'button',
    class: 'button-quiet',
    onclick: async () => {
      const ok = await copyText(created.key_id, keyId.input);
      showStatus(ok ? 'Key ID copied to the clipboard.' : 'Copy failed: select the key ID and copy it by hand.');
    },
  }, 'Copy key ID');
  const panel = h('section', { class: 'secret-panel', 'aria-labelledby': 'secret-title' },
    h('h3', { id: 'secret-title' }, `New key: ${created.name}`),
    h('p', { class: 'warning' },
      h('strong', {}, 'Copy this secret now. '),
      'It will not be shown again: only a hash of it is kept. If you lose it, revoke the key and create a new one.'),
    h('div', { class: 'secret-row' }, keyId.wrap, copyId),
    h('div', { class: 'secret-row' }, secret.wrap, copy),
    h('button', {
      type: 'button',
      class: 'button-quiet',
      onclick: () => {
        clear(slot);
        showStatus('The secret is hidden and cannot be shown again.');
      },
    }, 'I have saved it, hide the secret'));
  clear(slot).append(panel);
  secret.input.focus();
  secret.input.select();
}

function keysTable(keys, revoke) {
  if (!keys.length) return h('p', { class: 'empty' }, 'No keys yet.');
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, 'API keys'),
    h('thead', {}, h('tr', {},
      ['Name', 'Key ID', 'Created', 'Last used', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, keys.map((key) => {
      const revokeButton = key.revoked_at ? null : h('button', {
        type: 'button',
        class: 'danger small',
        'aria-label': `Revoke key ${key.name}`,
        onclick: (e) => revoke(key, e.currentTarget),
      }, 'Revoke');
      return h('tr', { class: key.revoked_at ? 'revoked' : '' },
        h('th', { scope: 'row' }, key.name),
        h('td', {}, h('code', {}, key.key_id)),
        h('td', {}, timeEl(key.created_at)),
        h('td', {}, timeEl(key.last_used_at, 'never')),
        h('td', {}, key.revoked_at
          ? h('span', { class: 'badge badge-muted' }, 'Revoked ', timeEl(key.revoked_at))
          : h('span', { class: 'badge badge-ok' }, 'Active')),
        h('td', {}, revokeButton));
    })));
}
