import { api } from '../api.js';
import { h, clear, field, timeEl } from '../dom.js';
import { attempt, confirmDialog, flashStatus, quietly, showStatus } from '../ui.js';

export async function renderUsers(target, ctx) {
  const email = field('Email', { type: 'email', required: true, autocomplete: 'off' });
  const name = field('Name', { maxlength: 100, autocomplete: 'off', hint: 'Optional.' });
  const password = field('Password', {
    type: 'password', required: true, minlength: 8, maxlength: 256, autocomplete: 'new-password',
    hint: '8 to 256 characters; common passwords are refused.',
  });
  const role = field('Role', { type: 'select', options: [['user', 'User'], ['admin', 'Admin']], value: 'user' });
  const create = h('button', { type: 'submit' }, 'Create user');
  const tableSlot = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading users…'));

  const form = h('form', {
    class: 'grid-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        email: email.input.value.trim(),
        password: password.input.value,
        role: role.input.value,
      };
      if (name.input.value.trim()) body.name = name.input.value.trim();
      const res = await attempt(() => api('POST', '/v1/users', body), create);
      if (!res) return;
      form.reset();
      showStatus(`User ${res.user.email} created.`);
      await quietly(load);
    },
  }, email.wrap, name.wrap, password.wrap, role.wrap, h('div', { class: 'form-actions' }, create));

  async function load() {
    const data = await api('GET', '/v1/users');
    if (!ctx.isCurrent()) return;
    clear(tableSlot).append(usersTable(data.users || [], ctx.user, actions));
  }

  const actions = {
    async setRole(user, newRole, button) {
      const res = await attempt(() => api('PATCH', `/v1/users/${encodeURIComponent(user.id)}`, { role: newRole }), button);
      if (!res) return;
      const message = `${user.email} is now ${newRole === 'admin' ? 'an admin' : 'a user'}.`;
      if (user.id === ctx.user.id && res.user.role !== 'admin') {
        // Demoted ourselves: this page is no longer ours.
        ctx.setUser(res.user);
        flashStatus(message);
        ctx.navigate('#/assets');
        return;
      }
      showStatus(message);
      await quietly(load);
    },
    async setDisabled(user, disabled, button) {
      if (disabled) {
        const yes = await confirmDialog({
          title: 'Disable this user?',
          message: `${user.email} will be signed out and their API keys will stop working until you enable them again.`,
          confirmLabel: 'Disable user',
          danger: true,
        });
        if (!yes) return;
      }
      const res = await attempt(() => api('PATCH', `/v1/users/${encodeURIComponent(user.id)}`, { disabled }), button);
      if (!res) return;
      showStatus(`${user.email} is ${disabled ? 'disabled' : 'enabled'}.`);
      await quietly(load);
    },
    async resetPassword(user, button) {
      const values = await confirmDialog({
        title: `Reset the password of ${user.email}`,
        message: 'Their sessions end; their API keys keep working.',
        confirmLabel: 'Set password',
        fields: [{
          name: 'password', label: 'New password', type: 'password', required: true,
          minlength: 8, maxlength: 256, autocomplete: 'new-password',
        }],
      });
      if (!values) return;
      const res = await attempt(
        () => api('PATCH', `/v1/users/${encodeURIComponent(user.id)}`, { password: values.password }),
        button,
      );
      if (res) showStatus(`The password of ${user.email} was reset.`);
    },
    async remove(user, button) {
      const yes = await confirmDialog({
        title: 'Delete this user?',
        message: `${user.email} will be deleted, with their sessions and API keys. Their assets stay. This cannot be undone.`,
        confirmLabel: 'Delete user',
        danger: true,
      });
      if (!yes) return;
      const res = await attempt(async () => {
        await api('DELETE', `/v1/users/${encodeURIComponent(user.id)}`);
        return true;
      }, button);
      if (!res) return;
      showStatus(`${user.email} was deleted.`);
      await quietly(load);
    },
  };

  target.append(
    h('h1', {}, 'Users'),
    h('section', { class: 'card', 'aria-labelledby': 'new-user-title' },
      h('h2', { id: 'new-user-title' }, 'Create a user'), form),
    h('section', { 'aria-labelledby': 'user-list-title' },
      h('h2', { id: 'user-list-title' }, 'All users'), tableSlot),
  );
  await load();
}

function usersTable(users, me, actions) {
  if (!users.length) return h('p', { class: 'empty' }, 'No users.');
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, 'Users'),
    h('thead', {}, h('tr', {},
      ['Email', 'Name', 'Role', 'Status', 'Created', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, users.map((user) => {
      const isMe = user.id === me.id;
      const roleButton = h('button', {
        type: 'button',
        class: 'small button-quiet',
        'aria-label': user.role === 'admin' ? `Make ${user.email} a user` : `Make ${user.email} an admin`,
        onclick: (e) => actions.setRole(user, user.role === 'admin' ? 'user' : 'admin', e.currentTarget),
      }, user.role === 'admin' ? 'Make user' : 'Make admin');
      const disableButton = h('button', {
        type: 'button',
        class: 'small button-quiet',
        'aria-label': `${user.disabled ? 'Enable' : 'Disable'} ${user.email}`,
        onclick: (e) => actions.setDisabled(user, !user.disabled, e.currentTarget),
      }, user.disabled ? 'Enable' : 'Disable');
      const resetButton = h('button', {
        type: 'button',
        class: 'small button-quiet',
        'aria-label': `Reset password of ${user.email}`,
        onclick: (e) => actions.resetPassword(user, e.currentTarget),
      }, 'Reset password');
      const deleteButton = h('button', {
        type: 'button',
        class: 'small danger',
        'aria-label': `Delete ${user.email}`,
        onclick: (e) => actions.remove(user, e.currentTarget),
      }, 'Delete');
      return h('tr', { class: user.disabled ? 'revoked' : '' },
        h('th', { scope: 'row' }, user.email, isMe ? h('span', { class: 'muted' }, ' (you)') : null),
        h('td', {}, user.name || h('span', { class: 'muted' }, '—')),
        h('td', {}, h('span', { class: user.role === 'admin' ? 'badge badge-accent' : 'badge' }, user.role === 'admin' ? 'Admin' : 'User')),
        h('td', {}, user.disabled
          ? h('span', { class: 'badge badge-muted' }, 'Disabled')
          : h('span', { class: 'badge badge-ok' }, 'Enabled')),
        h('td', {}, timeEl(user.created_at)),
        // One's own password changes on the Password page, with the current one (a reset is 403).
        h('td', {}, h('div', { class: 'row-actions' }, roleButton, disableButton, isMe ? null : resetButton, deleteButton)));
    })));
}
