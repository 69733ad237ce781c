import { api, encodeId, uploadFile } from '../api.js';
import { h, clear, field, formatBytes, timeEl, copyText, uid } from '../dom.js';
import { attempt, clearAlert, confirmDialog, flashStatus, quietly, showError, showStatus } from '../ui.js';
import { thumbnailUrl, originalUrl, transformUrl, previewUrl, focalCropUrl } from '../urls.js';
import { thumbHashToDataURL } from '../thumbhash.js';

const PAGE_SIZE = 24;
/** Requests one "load" makes at most to fill a page (see `load`). */
const MAX_ROUNDS = 5;

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
    let next = append ? cursor : undefined;
    let added = 0;
    // The server reads a bounded number of assets per page, so a page of filters that match few
    // of them comes back short (even empty) with a cursor: follow it a few times to fill a page.
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const data = await api('GET', '/v1/assets', undefined, {
        query: { ...filters, limit: PAGE_SIZE - added, cursor: next },
      });
      if (!ctx.isCurrent()) return;
      if (!append && round === 0) clear(grid);
      for (const asset of data.assets || []) grid.append(assetCard(asset));
      added += (data.assets || []).length;
      next = data.next_cursor || null;
      if (!next || added >= PAGE_SIZE) break;
    }
    cursor = next;
    more.hidden = !cursor;
    const n = grid.children.length;
    const filtered = Object.values(filters).some(Boolean);
    summary.textContent = n === 0
      ? (cursor
        ? 'No match among the assets looked at so far: load more to keep looking.'
        : (filtered ? 'No asset matches these filters.' : 'No assets yet: upload your first image above.'))
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

const COLOR = /^#[0-9a-f]{6}$/i;

/**
 * What shows while `img` loads: the asset's ThumbHash (decoded to a PNG data: URL) on its dominant
 * colour, over the image, removed once the image has loaded or failed. Null when the asset has
 * neither (assets stored before uploads were analysed) or the image is already there.
 */
function placeholderFor(asset, img) {
  if (img.complete && img.naturalWidth) return null;
  const dataUrl = thumbHashToDataURL(asset.thumbhash);
  const color = COLOR.test(asset.dominant_color || '') ? asset.dominant_color : null;
  if (!dataUrl && !color) return null;
  const el = h('span', { class: 'placeholder', 'aria-hidden': 'true' });
  // CSSOM properties, not a style attribute: the CSP allows no inline style.
  if (color) el.style.backgroundColor = color;
  if (dataUrl) el.style.backgroundImage = `url("${dataUrl}")`;
  const done = () => el.remove();
  img.addEventListener('load', done, { once: true });
  img.addEventListener('error', done, { once: true });
  return el;
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
      h('span', { class: 'thumb' }, img, placeholderFor(asset, img)),
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
  ['focal_point', 'Focal point'],
  ['faces', 'Faces'],
  ['dominant_color', 'Dominant colour'],
  ['thumbhash', 'ThumbHash'],
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
  if (key === 'dominant_color' && COLOR.test(value)) {
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = value;
    return h('span', {}, swatch, h('code', {}, value));
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) {
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
  const focal = focalPoint(asset, (updated) => refresh(updated));
  const deliveryUrl = field('Delivery URL', { value: asset.url, readOnly: true, class: 'mono', spellcheck: false });

  const privateHint = h('p', { class: 'hint' },
    'This asset is private: its URL answers 401 without your credentials or a signed URL.');

  function refresh(updated) {
    asset = updated;
    clear(metaSlot).append(metadataList(asset));
    deliveryUrl.input.value = asset.url;
    privateHint.hidden = asset.visibility !== 'private';
    focal.show(asset);
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
        h('div', { class: 'detail-preview' }, focal.stage),
        focal.panel,
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

// The crops shown beside the focal point: `g_auto` keeps the point in view (else the faces, else
// the most salient region), so each is reloaded when the point moves.
const FOCAL_CROPS = ['w_160,h_160,c_fill,g_auto', 'w_240,h_120,c_fill,g_auto', 'w_120,h_200,c_fill,g_auto'];
// The tallest the image is shown; the stage keeps the image's aspect ratio, so that a fraction of
// the stage is the same fraction of the image (the API's focal point and faces are fractions).
const STAGE_MAX_HEIGHT = 520;

const clamp01 = (v) => Math.min(1, Math.max(0, v));
const round4 = (v) => Math.round(v * 10000) / 10000; // a click is no more exact than that
const percent = (v) => `${(v * 100).toFixed(2)}%`;
const describePoint = (p) => `x ${p.x.toFixed(3)}, y ${p.y.toFixed(3)} (${Math.round(p.x * 100)}% across, ${Math.round(p.y * 100)}% down)`;

/**
 * The detail's image as a focal point editor: click (or arrow keys, then Enter) sets the point,
 * shown by a marker; the faces found at upload are outlined; crop previews follow. Returns
 * {stage, panel, show(asset)}; onSaved(asset) is called with the asset the server answered.
 */
function focalPoint(initial, onSaved) {
  let asset = initial;
  const image = h('img', {
    alt: `Original image of ${asset.public_id}`, src: originalUrl(asset), class: 'detail-image',
    width: asset.width || undefined, height: asset.height || undefined,
  });
  const facesLayer = h('span', { class: 'faces-layer', 'aria-hidden': 'true' });
  const marker = h('span', { class: 'focal-marker', 'aria-hidden': 'true', hidden: true });
  const hint = h('p', { class: 'hint', id: uid('focal-hint') },
    'Click the image where its subject is: g_auto crops keep that point in view. '
    + 'From the keyboard, the arrow keys move the point (Shift for bigger steps) and Enter sets it.');
  const pick = h('button', {
    type: 'button', class: 'focal-target', 'aria-label': 'Set focal point', 'aria-describedby': hint.id,
  });
  const stage = h('div', { class: 'focal-stage' }, image, placeholderFor(asset, image), facesLayer, marker, pick);
  if (asset.width > 0 && asset.height > 0) {
    stage.style.aspectRatio = `${asset.width} / ${asset.height}`;
    stage.style.width = `min(100%, ${((STAGE_MAX_HEIGHT * asset.width) / asset.height).toFixed(1)}px)`;
  }

  const coords = h('p', { class: 'focal-coords', 'aria-live': 'polite' });
  const facesCount = h('p', {});
  const clearButton = h('button', { type: 'button', class: 'button-quiet', onclick: () => save(null) }, 'Clear focal point');
  const cropsNote = h('p', { class: 'muted' });
  const crops = FOCAL_CROPS.map((transform) => {
    const [, w] = /w_(\d+)/.exec(transform);
    const [, hgt] = /h_(\d+)/.exec(transform);
    const img = h('img', { alt: `Crop preview ${transform}`, width: w, height: hgt, class: 'crop-image', decoding: 'async' });
    img.addEventListener('load', () => img.classList.remove('broken'));
    img.addEventListener('error', () => img.classList.add('broken'));
    const figure = h('figure', { class: 'crop' },
      h('span', { class: 'crop-frame' }, img, placeholderFor(asset, img)),
      h('figcaption', {}, h('code', {}, transform)));
    return { transform, img, figure };
  });

  let draft = null; // a point moved with the arrow keys, not yet set
  let shownCrops = null;
  let seq = 0;

  function place(point, pending) {
    marker.hidden = !point;
    marker.classList.toggle('pending', Boolean(pending));
    if (!point) return;
    marker.style.left = percent(point.x);
    marker.style.top = percent(point.y);
  }

  function show(updated = asset) {
    asset = updated;
    const fp = asset.focal_point;
    draft = null;
    place(fp, false);
    coords.textContent = fp
      ? `Focal point: ${describePoint(fp)}.`
      : 'No focal point set.';
    clearButton.disabled = !fp;

    const faces = Array.isArray(asset.faces) ? asset.faces : [];
    clear(facesLayer);
    for (const face of faces) {
      const box = h('span', { class: 'face-box' });
      box.style.left = percent(face.x);
      box.style.top = percent(face.y);
      box.style.width = percent(face.w);
      box.style.height = percent(face.h);
      facesLayer.append(box);
    }
    facesCount.hidden = !Array.isArray(asset.faces);
    facesCount.textContent = faces.length
      ? `${faces.length} face${faces.length === 1 ? '' : 's'} found, outlined on the image.`
      : 'No faces found.';
    cropsNote.textContent = fp
      ? 'g_auto crops around the focal point.'
      : `g_auto crops around ${faces.length ? 'the faces found' : 'the most salient region'}: no focal point is set.`;

    // A new point gives the crops new URLs (see focalCropUrl): only then are they reloaded.
    const key = fp ? `${fp.x},${fp.y}` : 'none';
    if (key !== shownCrops) {
      shownCrops = key;
      for (const { transform, img } of crops) img.src = focalCropUrl(asset, transform);
    }
  }

  async function save(point) {
    const mine = ++seq;
    place(point, true);
    const res = await attempt(() => api('PATCH', `/v1/assets/${encodeId(asset.public_id)}`, { focal_point: point }));
    if (mine !== seq) return;
    if (!res) {
      show();
      return;
    }
    onSaved(res.asset);
    const fp = res.asset.focal_point;
    showStatus(fp ? `Focal point set: ${describePoint(fp)}.` : 'Focal point cleared.');
  }

  pick.addEventListener('click', (e) => {
    let point;
    if (e.detail === 0) {
      // Enter or Space (a click without a pointer): the point the arrow keys moved, or the one shown.
      point = draft || asset.focal_point || { x: 0.5, y: 0.5 };
    } else {
      const rect = pick.getBoundingClientRect();
      if (!rect.width || !rect.height) return;
      point = { x: clamp01((e.clientX - rect.left) / rect.width), y: clamp01((e.clientY - rect.top) / rect.height) };
    }
    save({ x: round4(point.x), y: round4(point.y) });
  });
  pick.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && draft) {
      e.preventDefault();
      show();
      return;
    }
    const step = e.shiftKey ? 0.1 : 0.01;
    const move = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[e.key];
    if (!move) return;
    e.preventDefault();
    const from = draft || asset.focal_point || { x: 0.5, y: 0.5 };
    draft = { x: round4(clamp01(from.x + move[0])), y: round4(clamp01(from.y + move[1])) };
    place(draft, true);
    coords.textContent = `New focal point: ${describePoint(draft)}. Press Enter to set it, Escape to cancel.`;
  });

  const panel = h('section', { class: 'card', 'aria-labelledby': 'focal-title' },
    h('h2', { id: 'focal-title' }, 'Focal point and crops'),
    coords,
    facesCount,
    hint,
    h('div', { class: 'form-actions' },
      clearButton,
      h('a', { href: originalUrl(asset), target: '_blank', rel: 'noopener', class: 'button button-quiet' }, 'Open the original')),
    h('h3', { class: 'crops-title' }, 'Crop previews'),
    cropsNote,
    h('div', { class: 'crops' }, crops.map((c) => c.figure)));

  return { stage, panel, show };
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
    hint: 'Comma-separated key_value pairs: w, h, c, g, q, f, dpr, gr, bl, r, bg; or a preset, t_<name> (with f and dpr only). Example: w_400,h_300,c_fill,f_webp',
  });
  const preset = field('Start from a preset', {
    type: 'select', options: [['', 'No preset']], hint: 'Puts t_<name> in the transform.',
  });
  preset.wrap.hidden = true;
  const url = field('Transformed URL', { readOnly: true, class: 'mono', spellcheck: false });
  const img = h('img', { alt: 'Transform preview', hidden: true, class: 'preview-image' });
  const info = h('p', { class: 'muted', 'aria-live': 'polite' });
  const error = h('div', { class: 'inline-error', role: 'alert' });
  const previewButton = h('button', { type: 'submit' }, 'Preview');
  let objectUrl = null;
  let seq = 0;

  function update() {
    url.input.value = transformUrl(asset, transform.input.value);
    const named = /^t_([a-z0-9_-]+)$/.exec(transform.input.value.trim());
    preset.input.value = named && [...preset.input.options].some((o) => o.value === named[1]) ? named[1] : '';
  }
  transform.input.addEventListener('input', update);
  preset.input.addEventListener('change', () => {
    if (!preset.input.value) return;
    transform.input.value = `t_${preset.input.value}`;
    update();
  });
  update();

  // The presets (any signed-in user may read them): offered only when there are some.
  api('GET', '/v1/presets').then((data) => {
    const presets = (data && data.presets) || [];
    for (const p of presets) preset.input.append(h('option', { value: p.name }, `t_${p.name} (${p.transform})`));
    preset.wrap.hidden = presets.length === 0;
    update();
  }).catch(() => { /* a nicety: without the list, the transform is typed */ });

  async function runPreview() {
    const mine = ++seq;
    error.textContent = '';
    info.textContent = 'Rendering…';
    previewButton.disabled = true;
    try {
      let res;
      try {
        // Revalidated (ETag): a g_auto render changes when the focal point moves, at the same URL.
        res = await fetch(previewUrl(asset, transform.input.value), { credentials: 'same-origin', cache: 'no-cache' });
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
  }, preset.wrap, transform.wrap, h('div', { class: 'secret-row' }, url.wrap, copy), h('div', { class: 'form-actions' }, previewButton));

  return h('section', { class: 'card', 'aria-labelledby': 'playground-title' },
    h('h2', { id: 'playground-title' }, 'Transform playground'),
    h('p', { class: 'muted' }, 'Type a transform to build its delivery URL, then preview the result.'),
    form, error, info, h('div', { class: 'preview-box' }, img));
}
