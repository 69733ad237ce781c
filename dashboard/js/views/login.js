import { api } from '../api.js';
import { h, field } from '../dom.js';
import { attempt } from '../ui.js';

export function renderLogin(target, { onSignedIn }) {
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = field('Password', {
    type: 'password', name: 'password', autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', {
    class: 'stack',
    onsubmit: async (e) => {
      e.preventDefault();
      const res = await attempt(
        () => api('POST', '/v1/auth/login', { email: email.input.value.trim(), password: password.input.value }),
        submit,
      );
      if (res && res.user) onSignedIn(res.user);
      else password.input.select();
    },
  }, email.wrap, password.wrap, submit);

  target.append(h('section', { class: 'card narrow', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in to img-cloud'),
    h('p', { class: 'muted' }, 'Use the email and password your administrator gave you.'),
    form));
  email.input.focus();
}
