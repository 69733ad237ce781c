import { api } from '../api.js';
import { h, field } from '../dom.js';
import { attempt, showError, showStatus } from '../ui.js';

export function renderPassword(target, ctx) {
  const current = field('Current password', {
    type: 'password', autocomplete: 'current-password', required: true,
  });
  const next = field('New password', {
    type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 256,
    hint: '8 to 256 characters; common passwords are refused.',
  });
  const again = field('Repeat new password', {
    type: 'password', autocomplete: 'new-password', required: true, minlength: 8, maxlength: 256,
  });
  const submit = h('button', { type: 'submit' }, 'Change password');
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      if (next.input.value !== again.input.value) {
        showError('The two new passwords do not match.');
        again.input.focus();
        return;
      }
      const ok = await attempt(async () => {
        await api('POST', '/v1/auth/change-password', {
          current_password: current.input.value,
          new_password: next.input.value,
        });
        return true;
      }, submit);
      if (ok) {
        form.reset();
        showStatus('Password changed. Every other session of yours has been signed out.');
      }
    },
  },
  // For password managers: which account this form belongs to.
  h('input', { type: 'email', name: 'username', autocomplete: 'username', value: ctx.user.email, hidden: true, readOnly: true, tabindex: -1, 'aria-hidden': 'true' }),
  current.wrap, next.wrap, again.wrap, submit);

  target.append(h('section', { class: 'card narrow', 'aria-labelledby': 'pw-title' },
    h('h1', { id: 'pw-title' }, 'Change password'),
    h('p', { class: 'muted' }, 'Changing it signs out your other sessions; this one stays signed in.'),
    form));
}
