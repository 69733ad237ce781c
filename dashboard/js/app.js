// The dashboard shell: who is signed in, the hash router (#/assets, #/keys, …), the nav.
import { api, onUnauthorized } from './api.js';
import { h, clear } from './dom.js';
import { clearAlert, clearStatus, showError, showStatus, attempt, takeFlash } from './ui.js';
import { renderLogin } from './views/login.js';
import { renderKeys } from './views/keys.js';
import { renderUsers } from './views/users.js';
import { renderPresets } from './views/presets.js';
import { renderAssets, renderAssetDetail } from './views/assets.js';
import { renderUsage } from './views/usage.js';
import { renderPassword } from './views/password.js';

const state = {
  /** The signed-in user, or null. */
  user: null,
};

const ROUTES = {
  assets: { title: 'Assets', render: renderAssets },
  asset: { title: 'Asset', render: renderAssetDetail, nav: 'assets' },
  keys: { title: 'API keys', render: renderKeys },
  users: { title: 'Users', render: renderUsers, admin: true },
  presets: { title: 'Presets', render: renderPresets, admin: true },
  usage: { title: 'Usage', render: renderUsage },
  password: { title: 'Change password', render: renderPassword },
};

/** '#/assets/marketing/hero' → {name: 'asset', param: 'marketing/hero'}. */
function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [pathPart] = raw.split('?');
  const [first, ...rest] = pathPart.split('/');
  if (first === 'assets' && rest.length && rest.join('/')) {
    return { name: 'asset', param: rest.map(decodeURIComponent).join('/') };
  }
  return { name: first || 'assets', param: null };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

const view = () => document.getElementById('view');

function setSignedIn(user) {
  state.user = user;
  const signedIn = Boolean(user);
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('account').hidden = !signedIn;
  document.getElementById('whoami').textContent = signedIn
    ? `${user.name ? `${user.name} · ` : ''}${user.email}${user.role === 'admin' ? ' (admin)' : ''}`
    : '';
  for (const el of document.querySelectorAll('[data-admin-only]')) {
    el.hidden = !(signedIn && user.role === 'admin');
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let renderToken = 0;

async function route({ keepMessages = false } = {}) {
  const token = ++renderToken;
  if (!keepMessages) {
    clearAlert();
    clearStatus();
  }
  const flash = takeFlash();
  if (flash) showStatus(flash);
  const target = clear(view());
  if (!keepMessages) window.scrollTo(0, 0);
  if (!state.user) {
    markNav(null);
    document.title = 'Sign in · img-cloud';
    renderLogin(target, { onSignedIn: signedIn });
    return;
  }
  let { name, param } = parseHash();
  let def = ROUTES[name];
  if (!def) {
    name = 'assets';
    def = ROUTES.assets;
    history.replaceState(null, '', '#/assets');
  }
  if (def.admin && state.user.role !== 'admin') {
    def = ROUTES.assets;
    name = 'assets';
    history.replaceState(null, '', '#/assets');
    showError('That page is for admins only.');
  }
  markNav(def.nav || name);
  document.title = `${def.title} · img-cloud`;
  const ctx = {
    user: state.user,
    param,
    navigate,
    isCurrent: () => token === renderToken,
    setUser: setSignedIn,
  };
  try {
    await def.render(target, ctx);
  } catch (err) {
    if (token === renderToken) showError(err);
  }
  if (token === renderToken && !keepMessages) focusHeading(target);
}

function focusHeading(target) {
  const heading = target.querySelector('h1');
  // A new page: its heading takes the focus (screen readers announce it; Tab goes on from there),
  // unless the view already put the focus somewhere of its own.
  if (heading && !target.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function signedIn(user) {
  setSignedIn(user);
  const { name } = parseHash();
  if (!name || name === 'login') history.replaceState(null, '', '#/assets');
  route().then(() => showStatus(`Signed in as ${user.email}.`));
}

async function signOut() {
  const done = await attempt(async () => {
    await api('POST', '/v1/auth/logout');
    return true;
  }, document.getElementById('signout'));
  if (!done) return;
  setSignedIn(null);
  await route();
  showStatus('You are signed out.');
}

function sessionExpired() {
  if (!state.user) return;
  setSignedIn(null);
  route().then(() => showError('Your session has expired. Please sign in again.'));
}

async function start() {
  onUnauthorized(sessionExpired);
  document.getElementById('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', () => route());
  try {
    const me = await api('GET', '/v1/auth/me', undefined, { quiet401: true });
    setSignedIn(me.user);
  } catch (err) {
    setSignedIn(null);
    if (err.status !== 401) {
      await route();
      showError(err);
      return;
    }
  }
  await route();
}

start().catch((err) => {
  clear(view()).append(h('p', {}, 'The dashboard could not start.'));
  showError(err);
});
