import { api, encodeId, uploadFile } from '../api.js';
import { h, clear, field, formatBytes, timeEl, copyText } from '../dom.js';
import { attempt, clearAlert, confirmDialog, flashStatus, quietly, showError, showStatus } from '../ui.js';
import { thumbnailUrl, originalUrl, transformUrl, previewUrl } from '../urls.js';

const PAGE_SIZE = 24;

// The list's filters survive going to an asset and back.
const filters = { q: '', folder: '', tag: '', visibility: '' };

// A file dropped beside the drop zone must not navigate away from the dashboard.
let guarded = false;
function guardWindowDrops() {
  if (guarded) return;
  guarded = true;
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (e) => {
      if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) e.preventDefault();
    });
  }
}

export async function renderAssets(target, ctx) {
  guardWindowDrops();
  const grid = h('ul', { class: 'asset-grid', 'aria-label': 'Assets' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'button-quiet', hidden: true }, 'Load more');
  let cursor = null;

  async function load({ append = false } = {}) {
    const data = await api('GET', '/v1/assets', undefined, {
      query: { ...filters, limit: PAGE_SIZE, cursor: append ? cursor : undefined },
    });
    if (!ctx.isCurrent()) return;
    if (!append) clear(grid);
    for (const asset of data.assets || []) grid.append(assetCard(asset));
    cursor = data.next_cursor || null;
    more.hidden = !cursor;
    const n = grid.children.length;
    const filtered = Object.values(filters).some(Boolean);
    summary.textContent = n === 0
      ? (filtered ? 'No asset matches these filters.' : 'No assets yet: upload your first image above.')
      : `Showing ${n} asset${n === 1 ? '' : 's'}${cursor ? ' (more available)' : ''}${filtered ? ', filtered' : ''}.`;
  }
  more.addEventListener('click', () => attempt(() => load({ append: true }), more));

  const uploader = uploadCard(async () => {
    await quietly(() => load());
  });

  target.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Assets')),
    uploader,
    h('section', { 'aria-labelledby': 'library-title' },
      h('h2', { id: 'library-title' }, 'Library'),
      filtersForm(() => attempt(() => load())),
      summary,
      grid,
      h('div', { class: 'center' }, more)),
  );
  await load();
}

function filtersForm(apply) {
  const q = field('Search by public ID prefix', { type: 'search', value: filters.q, autocomplete: 'off', placeholder: 'e.g. marketing/' });
  const folder = field('Filter by folder', { value: filters.folder, autocomplete: 'off' });
  const tag = field('Filter by tag', { value: filters.tag, autocomplete: 'off' });
  const visibility = field('Filter by visibility', {
    type: 'select',
    options: [['', 'Any'], ['public', 'Public'], ['private', 'Private']],
    value: filters.visibility,
  });
  const form = h('form', {
    class: 'filters',
    role: 'search',
    'aria-label': 'Filter assets',
    onsubmit: (e) => {
      e.preventDefault();
      filters.q = q.input.value.trim();
      filters.folder = folder.input.value.trim();
      filters.tag = tag.input.value.trim();
      filters.visibility = visibility.input.value;
      apply();
    },
  },
  q.wrap, folder.wrap, tag.wrap, visibility.wrap,
  h('div', { class: 'form-actions' },
    h('button', { type: 'submit' }, 'Apply filters'),
    h('button', {
      type: 'button',
      class: 'button-quiet',
      onclick: () => {
        q.input.value = '';
        folder.input.value = '';
        tag.input.value = '';
        visibility.input.value = '';
        form.requestSubmit();
      },
    }, 'Clear filters')));
  return form;
}

function assetCard(asset) {
  const href = `#/assets/${encodeId(asset.public_id)}`;
  const img = h('img', {
    src: thumbnailUrl(asset),
    alt: `Thumbnail of ${asset.public_id}`,
    loading: 'lazy',
    decoding: 'async',
    width: 200,
    height: 200,
  });
  img.addEventListener('error', () => img.classList.add('broken'));
  return h('li', { class: 'asset-card' },
    h('a', { href },
      h('span', { class: 'thumb' }, img),
      h('span', { class: 'asset-name' }, asset.public_id)),
    h('span', { class: 'asset-meta' },
      `${asset.width}×${asset.height} · ${(asset.format || '').toUpperCase()} · ${formatBytes(asset.bytes)}`),
    h('span', { class: 'asset-tags' },
      asset.visibility === 'private' ? h('span', { class: 'badge badge-warn' }, 'Private') : null,
      (asset.tags || []).map((t) => h('span', { class: 'badge' }, t))));
}

function uploadCard(onUploaded) {
  const input = h('input', {
    type: 'file', id: 'upload-files', multiple: true,
    // Extensions too: not every browser knows the HEIC and JPEG XL types.
    accept: 'image/jpeg,image/png,image/webp,image/gif,image/avif,image/heic,image/heif,image/jxl,.heic,.heif,.avif,.jxl',
    class: 'file-input',
  });
  const publicId = field('Public ID', {
    autocomplete: 'off', hint: 'Optional, one file only. Generated from the file name otherwise.',
  });
  const folder = field('Upload folder', { autocomplete: 'off', hint: 'Optional, e.g. marketing.' });
  const tags = field('Upload tags', { autocomplete: 'off', hint: 'Optional, comma-separated.' });
  const visibility = field('Upload visibility', {
    type: 'select', options: [['public', 'Public'], ['private', 'Private']], value: 'public',
  });
  const chosen = h('span', { class: 'muted', id: 'upload-chosen' }, 'No file chosen.');
  const uploadButton = h('button', { type: 'submit' }, 'Upload');
  const progressList = h('ul', { class: 'progress-list', 'aria-label': 'Uploads' });

  input.addEventListener('change', () => {
    const n = input.files.length;
    chosen.textContent = n === 0 ? 'No file chosen.' : n === 1 ? input.files[0].name : `${n} files chosen.`;
  });

  async function run(files) {
    clearAlert();
    showStatus('');
    if (!files.length) {
      showError('Choose or drop at least one image first.');
      return;
    }
    if (files.length > 1 && publicId.input.value.trim()) {
      showError('A public ID can only be given when uploading one file.');
      return;
    }
    const fields = {
      public_id: publicId.input.value,
      folder: folder.input.value,
      tags: tags.input.value,
      visibility: visibility.input.value,
    };
    uploadButton.disabled = true;
    let ok = 0;
    const errors = [];
    for (const file of files) {
      const bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload progress of ${file.name}` });
      const state = h('span', { class: 'progress-state' }, 'Starting…');
      const item = h('li', {}, h('span', { class: 'progress-name' }, file.name), bar, state);
      progressList.append(item);
      try {
        const asset = await uploadFile(file, fields, (loaded, total) => {
          const pct = total ? Math.round((loaded / total) * 100) : 0;
          bar.value = pct;
          state.textContent = pct >= 100 ? 'Processing…' : `${pct}%`;
        });
        bar.value = 100;
        item.classList.add('done');
        state.textContent = '';
        state.append('Uploaded as ', h('a', { href: `#/assets/${encodeId(asset.public_id)}` }, asset.public_id));
        ok += 1;
      } catch (err) {
        item.classList.add('failed');
        state.textContent = `Failed: ${err.message}`;
        errors.push(err);
      }
    }
    uploadButton.disabled = false;
    if (ok) {
      form.reset();
      chosen.textContent = 'No file chosen.';
      await onUploaded();
      showStatus(`${ok} file${ok === 1 ? '' : 's'} uploaded.`);
    }
    if (errors.length) {
      const handled = errors.find((e) => e.handled);
      if (handled) return;
      if (errors.length === 1) showError(errors[0]);
      else showError(`${errors.length} uploads failed: ${errors.map((e) => e.message).join('; ')}`);
    }
  }

  const form = h('form', {
    class: 'upload-form',
    onsubmit: (e) => {
      e.preventDefault();
      run([...input.files]);
    },
  },
  h('div', { class: 'dropzone', id: 'dropzone', role: 'group', 'aria-label': 'Drop zone for images' },
    h('p', {}, h('strong', {}, 'Drag and drop images here'), ' or'),
    h('label', { for: 'upload-files', class: 'button file-label' }, 'Choose image files'),
    input,
    chosen,
    h('p', { class: 'hint' }, 'JPEG, PNG, WebP, GIF, AVIF, HEIC or JPEG XL, up to the server\'s size limit.')),
  h('div', { class: 'upload-options' }, publicId.wrap, folder.wrap, tags.wrap, visibility.wrap,
    h('div', { class: 'form-actions' }, uploadButton)),
  progressList);

  const zone = form.querySelector('#dropzone');
  let depth = 0;
  zone.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth += 1;
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    const files = [...((e.dataTransfer && e.dataTransfer.files) || [])];
    run(files);
  });

  return h('section', { class: 'card', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Upload images'), form);
}

// ---------------------------------------------------------------------------------------------
// One asset

const FIELD_LABELS = [
  ['public_id', 'Public ID'],
  ['url', 'Delivery URL'],
  ['folder', 'Folder'],
  ['tags', 'Tags'],
  ['visibility', 'Visibility'],
  ['format', 'Format'],
  ['width', 'Width'],
  ['height', 'Height'],
  ['bytes', 'Size'],
  ['content_type', 'Content type'],
  ['original_filename', 'Original file name'],
  ['owner_id', 'Owner'],
  ['version', 'Version'],
  ['created_at', 'Created'],
  ['updated_at', 'Updated'],
];

function metaValue(key, value) {
  if (value === null || value === undefined || value === '') {
    return h('span', { class: 'muted' }, key === 'folder' ? '(root)' : '—');
  }
  if (key === 'bytes') return `${formatBytes(value)} (${value.toLocaleString()} bytes)`;
  if (key === 'width' || key === 'height') return `${value} px`;
  if (key.endsWith('_at')) return timeEl(value);
  if (key === 'url') return h('code', { class: 'break' }, value);
  if (Array.isArray(value)) {
    return value.length ? h('span', {}, value.map((t) => h('span', { class: 'badge' }, String(t)))) : h('span', { class: 'muted' }, 'none');
  }
  if (typeof value === 'object') return h('code', { class: 'break' }, JSON.stringify(value));
  return String(value);
}

function metadataList(asset) {
  const known = new Set(FIELD_LABELS.map(([k]) => k));
  const extra = Object.keys(asset).filter((k) => !known.has(k)).sort();
  const label = (k) => k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  return h('dl', { class: 'meta' },
    [...FIELD_LABELS.filter(([k]) => k in asset), ...extra.map((k) => [k, label(k)])].map(([k, text]) =>
      h('div', {}, h('dt', {}, text), h('dd', {}, metaValue(k, asset[k])))));
}

export async function renderAssetDetail(target, ctx) {
  const publicId = ctx.param;
  target.append(h('p', { class: 'crumbs' }, h('a', { href: '#/assets' }, '← All assets')));
  let asset;
  try {
    asset = (await api('GET', `/v1/assets/${encodeId(publicId)}`)).asset;
  } catch (err) {
    if (!ctx.isCurrent()) return;
    target.append(h('h1', {}, publicId));
    throw err;
  }
  if (!ctx.isCurrent()) return;

  const heading = h('h1', { class: 'break' }, asset.public_id);
  const metaSlot = h('div');
  const preview = h('img', { alt: `Original image of ${asset.public_id}`, src: originalUrl(asset), class: 'detail-image' });
  const deliveryUrl = field('Delivery URL', { value: asset.url, readOnly: true, class: 'mono', spellcheck: false });

  const privateHint = h('p', { class: 'hint' },
    'This asset is private: its URL answers 401 without your credentials or a signed URL.');

  function refresh(updated) {
    asset = updated;
    clear(metaSlot).append(metadataList(asset));
    deliveryUrl.input.value = asset.url;
    privateHint.hidden = asset.visibility !== 'private';
  }
  refresh(asset);

  const copyButton = h('button', {
    type: 'button',
    onclick: async () => {
      const ok = await copyText(asset.url, deliveryUrl.input);
      showStatus(ok ? 'Delivery URL copied to the clipboard.' : 'Copy failed: select the URL and copy it by hand.');
    },
  }, 'Copy delivery URL');
  const deleteButton = h('button', {
    type: 'button',
    class: 'danger',
    onclick: async (e) => {
      const yes = await confirmDialog({
        title: 'Delete this asset?',
        message: `${asset.public_id} and every stored variant will be deleted, and its URL will stop working. This cannot be undone.`,
        confirmLabel: 'Delete asset',
        danger: true,
      });
      if (!yes) return;
      const done = await attempt(async () => {
        await api('DELETE', `/v1/assets/${encodeId(asset.public_id)}`);
        return true;
      }, e.currentTarget);
      if (!done) return;
      flashStatus(`${asset.public_id} was deleted.`);
      ctx.navigate('#/assets');
    },
  }, 'Delete asset');

  target.append(
    heading,
    h('div', { class: 'detail' },
      h('div', {},
        h('div', { class: 'detail-preview' },
          h('a', { href: originalUrl(asset), target: '_blank', rel: 'noopener' }, preview)),
        h('section', { class: 'card', 'aria-labelledby': 'share-title' },
          h('h2', { id: 'share-title' }, 'Delivery'),
          h('div', { class: 'secret-row' }, deliveryUrl.wrap, copyButton),
          privateHint),
        editForm(asset, refresh)),
      h('section', { class: 'card', 'aria-labelledby': 'meta-title' },
        h('h2', { id: 'meta-title' }, 'Details'), metaSlot)),
    playground(asset),
    h('section', { class: 'card danger-zone', 'aria-labelledby': 'danger-title' },
      h('h2', { id: 'danger-title' }, 'Delete'),
      h('p', {}, 'Deleting removes the original and every variant.'),
      deleteButton),
  );
}

function editForm(asset, refresh) {
  const tags = field('Tags', { value: (asset.tags || []).join(', '), autocomplete: 'off', hint: 'Comma-separated.' });
  const folder = field('Folder', { value: asset.folder || '', autocomplete: 'off', hint: 'Empty for the root. The public ID does not change.' });
  const visibility = field('Visibility', {
    type: 'select', options: [['public', 'Public'], ['private', 'Private']], value: asset.visibility,
  });
  const save = h('button', { type: 'submit' }, 'Save changes');
  const form = h('form', {
    class: 'grid-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        tags: tags.input.value.split(',').map((t) => t.trim()).filter(Boolean),
        folder: folder.input.value.trim(),
        visibility: visibility.input.value,
      };
      const res = await attempt(() => api('PATCH', `/v1/assets/${encodeId(asset.public_id)}`, body), save);
      if (!res) return;
      refresh(res.asset);
      tags.input.value = (res.asset.tags || []).join(', ');
      folder.input.value = res.asset.folder || '';
      visibility.input.value = res.asset.visibility;
      showStatus('Changes saved.');
    },
  }, tags.wrap, folder.wrap, visibility.wrap, h('div', { class: 'form-actions' }, save));
  return h('section', { class: 'card', 'aria-labelledby': 'edit-title' },
    h('h2', { id: 'edit-title' }, 'Edit'), form);
}

function playground(asset) {
  const transform = field('Transform', {
    value: 'w_400,h_300,c_fill,f_webp',
    autocomplete: 'off',
    spellcheck: false,
    class: 'mono',
    hint: 'Comma-separated key_value pairs: w, h, c, q, f, dpr, gr, bl, r, bg. Example: w_400,h_300,c_fill,f_webp',
  });
  const url = field('Transformed URL', { readOnly: true, class: 'mono', spellcheck: false });
  const img = h('img', { alt: 'Transform preview', hidden: true, class: 'preview-image' });
  const info = h('p', { class: 'muted', 'aria-live': 'polite' });
  const error = h('div', { class: 'inline-error', role: 'alert' });
  const previewButton = h('button', { type: 'submit' }, 'Preview');
  let objectUrl = null;
  let seq = 0;

  function update() {
    url.input.value = transformUrl(asset, transform.input.value);
  }
  transform.input.addEventListener('input', update);
  update();

  async function runPreview() {
    const mine = ++seq;
    error.textContent = '';
    info.textContent = 'Rendering…';
    previewButton.disabled = true;
    try {
      let res;
      try {
        res = await fetch(previewUrl(asset, transform.input.value), { credentials: 'same-origin' });
      } catch {
        throw new Error('Could not reach the server.');
      }
      if (!res.ok) {
        let message = `${res.status} ${res.statusText}`;
        try {
          const data = await res.json();
          if (data && data.error) message = `${data.error} (${res.status}${data.code ? `, ${data.code}` : ''})`;
        } catch { /* not JSON: keep the status line */ }
        throw new Error(message);
      }
      const blob = await res.blob();
      if (mine !== seq) return;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(blob);
      img.src = objectUrl;
      img.hidden = false;
      await img.decode().catch(() => {});
      info.textContent = `${img.naturalWidth}×${img.naturalHeight} · ${blob.type || 'unknown type'} · ${formatBytes(blob.size)}`
        + (res.headers.get('x-cache') ? ` · cache ${res.headers.get('x-cache')}` : '');
    } catch (err) {
      if (mine !== seq) return;
      img.hidden = true;
      info.textContent = '';
      error.textContent = `The preview failed: ${err.message}`;
    } finally {
      if (mine === seq) previewButton.disabled = false;
    }
  }

  const copy = h('button', {
    type: 'button',
    class: 'button-quiet',
    onclick: async () => {
      const ok = await copyText(url.input.value, url.input);
      showStatus(ok ? 'Transformed URL copied to the clipboard.' : 'Copy failed: select the URL and copy it by hand.');
    },
  }, 'Copy transformed URL');

  const form = h('form', {
    class: 'stack',
    onsubmit: (e) => {
      e.preventDefault();
      runPreview();
    },
  }, transform.wrap, h('div', { class: 'secret-row' }, url.wrap, copy), h('div', { class: 'form-actions' }, previewButton));

  return h('section', { class: 'card', 'aria-labelledby': 'playground-title' },
    h('h2', { id: 'playground-title' }, 'Transform playground'),
    h('p', { class: 'muted' }, 'Type a transform to build its delivery URL, then preview the result.'),
    form, error, info, h('div', { class: 'preview-box' }, img));
}
