import { api } from '../api.js';
import { h, clear, field, timeEl } from '../dom.js';
import { attempt, clearAlert, clearStatus, confirmDialog, errorSentence, quietly, showStatus } from '../ui.js';
import { normaliseTransform } from '../urls.js';

// A preset's name in its URL: a name the server refuses must reach it as typed, so that its
// answer (400 invalid_preset) is the one shown; "." and ".." would otherwise be resolved away.
function presetPath(name) {
  return `/v1/presets/${encodeURIComponent(name).replace(/\./g, '%2E')}`;
}

export async function renderPresets(target, ctx) {
  const name = field('Preset name', {
    required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'off', spellcheck: false, class: 'mono',
    hint: '1 to 64 of a-z, 0-9, _ and -. Saving a name that exists replaces that preset.',
  });
  const transform = field('Transform', {
    required: true, autocomplete: 'off', autocapitalize: 'off', spellcheck: false, class: 'mono',
    hint: 'Any transform but another preset (no t_), e.g. w_400,h_400,c_fill,g_auto. It is stored in canonical order.',
  });
  const save = h('button', { type: 'submit' }, 'Save preset');
  // The form's own errors are said here, beside it; the list's actions use the page's alert.
  const error = h('div', { class: 'inline-error', role: 'alert', id: 'preset-error' });
  const tableSlot = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading presets…'));

  function markInvalid(input, invalid) {
    const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== error.id);
    if (invalid) {
      input.setAttribute('aria-invalid', 'true');
      ids.push(error.id);
    } else {
      input.removeAttribute('aria-invalid');
    }
    input.setAttribute('aria-describedby', ids.join(' '));
  }

  function showFormError(err) {
    error.textContent = `The preset was not saved: ${errorSentence(err)}`;
    const culprit = err.code === 'invalid_preset' ? name.input : err.code === 'invalid_transform' ? transform.input : null;
    if (culprit) {
      markInvalid(culprit, true);
      culprit.focus();
    }
  }

  function clearFormError() {
    error.textContent = '';
    markInvalid(name.input, false);
    markInvalid(transform.input, false);
  }

  const form = h('form', {
    class: 'preset-form',
    onsubmit: async (e) => {
      e.preventDefault();
      clearAlert();
      clearStatus();
      clearFormError();
      const presetName = name.input.value.trim();
      save.disabled = true;
      try {
        const { status, data } = await api('PUT', presetPath(presetName),
          { transform: normaliseTransform(transform.input.value) }, { withStatus: true });
        const { preset } = data;
        form.reset();
        showStatus(status === 201
          ? `Preset "${preset.name}" created: t_${preset.name} is ${preset.transform}.`
          : `Preset "${preset.name}" replaced: t_${preset.name} is now ${preset.transform}.`);
        await quietly(load);
      } catch (err) {
        if (!err.handled) showFormError(err);
      } finally {
        save.disabled = false;
      }
    },
  }, name.wrap, transform.wrap, h('div', { class: 'form-actions' }, save));
  for (const input of [name.input, transform.input]) {
    input.addEventListener('input', () => markInvalid(input, false));
  }

  async function load() {
    const data = await api('GET', '/v1/presets');
    if (!ctx.isCurrent()) return;
    clear(tableSlot).append(presetsTable(data.presets || [], actions));
  }

  const actions = {
    edit(preset) {
      clearFormError();
      name.input.value = preset.name;
      transform.input.value = preset.transform;
      form.scrollIntoView({ block: 'nearest' });
      transform.input.focus();
      transform.input.select();
    },
    async remove(preset, button) {
      const yes = await confirmDialog({
        title: 'Delete this preset?',
        message: `URLs with t_${preset.name} will answer 400 from then on. This cannot be undone.`,
        confirmLabel: 'Delete preset',
        danger: true,
      });
      if (!yes) return;
      const done = await attempt(async () => {
        await api('DELETE', presetPath(preset.name));
        return true;
      }, button);
      if (!done) return;
      showStatus(`Preset "${preset.name}" was deleted.`);
      await quietly(load);
    },
  };

  target.append(
    h('h1', {}, 'Presets'),
    h('p', { class: 'muted' },
      'A preset names a transform, delivered as ',
      h('code', {}, '/v1/image/t_<name>/<public_id>'),
      ' (only f_ and dpr_ may go beside it). Changing a preset never serves its old renders.'),
    h('section', { class: 'card', 'aria-labelledby': 'new-preset-title' },
      h('h2', { id: 'new-preset-title' }, 'Create or replace a preset'), form, error),
    h('section', { 'aria-labelledby': 'preset-list-title' },
      h('h2', { id: 'preset-list-title' }, 'All presets'), tableSlot),
  );
  await load();
}

function presetsTable(presets, actions) {
  if (!presets.length) return h('p', { class: 'empty' }, 'No presets yet.');
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, 'Presets'),
    h('thead', {}, h('tr', {},
      ['Name', 'Transform', 'Delivered as', 'Updated', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, presets.map((preset) => h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, preset.name)),
      h('td', {}, h('code', { class: 'break' }, preset.transform)),
      h('td', {}, h('code', { class: 'break' }, `/v1/image/t_${preset.name}/<public_id>`)),
      h('td', {}, timeEl(preset.updated_at)),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', {
          type: 'button',
          class: 'small button-quiet',
          'aria-label': `Edit preset ${preset.name}`,
          onclick: () => actions.edit(preset),
        }, 'Edit'),
        h('button', {
          type: 'button',
          class: 'small danger',
          'aria-label': `Delete preset ${preset.name}`,
          onclick: (e) => actions.remove(preset, e.currentTarget),
        }, 'Delete')))))));
}
