// End-to-end tests of the dashboard in headless Chromium against the real local server.
// The steps run in order and share one signed-in admin page; each step is one user flow.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, REPO_ROOT, buildServer, startServer } from './lib/server.js';
import { eventually, launchBrowser } from './lib/browser.js';

const CORPUS = process.env.IMGCLOUD_CORPUS
  ? resolve(process.env.IMGCLOUD_CORPUS)
  : resolve(REPO_ROOT, '../shared/corpus');
const SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');
const FACE_PORTRAIT = join(REPO_ROOT, 'tests', 'images', 'face-portrait.jpg'); // one face, 200×300
const NEW_ADMIN_PASSWORD = 'a-fresh-admin-secret-9902';
const ANN = { email: 'ann@example.com', name: 'Ann Example', password: 'ann-first-password-5521' };

let server;
let browser;
let context;
let page;
const problems = []; // uncaught page errors and CSP violations

function watch(p, who) {
  p.on('pageerror', (err) => problems.push(`${who}: uncaught ${err.message}`));
  p.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      problems.push(`${who}: ${msg.text()}`);
    }
  });
}

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: server.base });
  ctx.setDefaultTimeout(15_000);
  const p = await ctx.newPage();
  return { ctx, p };
}

async function screenshot(p, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await p.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// After signing in, the dashboard shows the page that was asked for (Assets by default).
async function signIn(p, email, password, landing = 'Assets') {
  await p.getByLabel('Email', { exact: true }).fill(email);
  await p.getByLabel('Password', { exact: true }).fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: landing, level: 1 }).waitFor();
}

async function statusText(p, text) {
  await p.getByRole('status').filter({ hasText: text }).waitFor();
}

async function alertText(p, text) {
  await p.getByRole('alert').filter({ hasText: text }).first().waitFor();
}

async function go(p, linkName, heading) {
  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: linkName, exact: true }).click();
  await p.getByRole('heading', { name: heading, level: 1 }).waitFor();
}

async function apiJson(p, path) {
  const res = await p.request.get(path);
  assert.equal(res.status(), 200, `${path}: ${await res.text()}`);
  return res.json();
}

/** '#1a2b3c' → 'rgb(26, 43, 60)', as getComputedStyle says it. */
function rgb(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Holds back the responses of requests whose path starts with `prefix` until release(). */
async function holdBack(p, prefix) {
  let release;
  const gate = new Promise((r) => { release = r; });
  const matcher = (url) => url.pathname.startsWith(prefix);
  await p.route(matcher, async (route) => {
    await gate;
    await route.continue();
  });
  return { release, done: () => p.unroute(matcher) };
}

/** The placeholder shown while an image loads: its ThumbHash PNG (size) and background colour. */
async function placeholderOf(locator) {
  await locator.waitFor();
  return locator.evaluate((el) => {
    const style = getComputedStyle(el);
    const image = style.backgroundImage;
    const url = (/^url\("(.*)"\)$/.exec(image) || [])[1] || '';
    return new Promise((resolve) => {
      const done = (size) => resolve({ url, color: style.backgroundColor, size });
      if (!url) return done(null);
      const img = new Image();
      img.onload = () => done([img.naturalWidth, img.naturalHeight]);
      img.onerror = () => done('undecodable');
      img.src = url;
      return undefined;
    });
  });
}

async function imageLoaded(locator) {
  await locator.scrollIntoViewIfNeeded();
  return eventually(
    () => locator.evaluate((img) => img.complete && img.naturalWidth > 0 && img.naturalWidth),
    { message: 'the image to load' },
  );
}

describe('dashboard', () => {
  before(async () => {
    const bin = await buildServer();
    server = await startServer(bin);
    browser = await launchBrowser();
    ({ ctx: context, p: page } = await newPage());
    watch(page, 'admin');
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('signs in; a wrong password is an error in the alert region', async () => {
    await page.goto('/dashboard/');
    await page.getByRole('heading', { name: 'Sign in to img-cloud' }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0, 'no nav before sign-in');
    await screenshot(page, 'signin');

    await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await alertText(page, 'Error');
    assert.equal(await page.getByRole('heading', { name: 'Sign in to img-cloud' }).count(), 1);

    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    await statusText(page, `Signed in as ${ADMIN_EMAIL}`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Assets', 'API keys', 'Users', 'Presets', 'Usage', 'Password']) {
      assert.equal(await nav.getByRole('link', { name, exact: true }).isVisible(), true, name);
    }
    // A reload keeps the session (GET /v1/auth/me decides).
    await page.reload();
    await page.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
  });

  test('mints an API key, shows its secret once, then revokes it', async () => {
    await go(page, 'API keys', 'API keys');
    await page.getByLabel('Key name').fill('CI pipeline');
    await page.getByRole('button', { name: 'Create key' }).click();

    const secretBox = page.getByLabel('Key secret');
    const secret = await secretBox.inputValue();
    assert.match(secret, /^cs_[A-Za-z0-9_-]{32,}$/);
    const keyId = await page.getByLabel('Key ID').inputValue();
    assert.match(keyId, /^ck_/);
    await page.getByText('It will not be shown again').waitFor();
    await page.getByRole('button', { name: 'Copy secret' }).isEnabled();
    const row = page.getByRole('row', { name: /CI pipeline/ });
    await row.getByText('Active').waitFor();
    await row.getByText('never').waitFor();
    await screenshot(page, 'keys');

    // The key works…
    const me = await fetch(`${server.base}/v1/auth/me`, { headers: { Authorization: `ApiKey ${keyId}:${secret}` } });
    assert.equal(me.status, 200);
    // …and its secret is nowhere after a reload: not on the page, not in web storage.
    await page.reload();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByRole('row', { name: /CI pipeline/ }).waitFor();
    assert.equal(await page.getByLabel('Key secret').count(), 0);
    const leftovers = await page.evaluate((s) => ({
      body: document.documentElement.outerHTML.includes(s),
      storage: JSON.stringify({ ...localStorage }).includes(s) || JSON.stringify({ ...sessionStorage }).includes(s),
    }), secret);
    assert.deepEqual(leftovers, { body: false, storage: false });
    // last used is shown now that the key has been used.
    assert.equal(await page.getByRole('row', { name: /CI pipeline/ }).getByText('never').count(), 0);

    // Revoke: a confirmation first; cancelling keeps the key.
    await page.getByRole('button', { name: 'Revoke key CI pipeline' }).click();
    let dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('row', { name: /CI pipeline/ }).getByText('Active').waitFor();

    await page.getByRole('button', { name: 'Revoke key CI pipeline' }).click();
    dialog = page.getByRole('dialog', { name: 'Revoke this key?' });
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await statusText(page, 'Key "CI pipeline" revoked.');
    await page.getByRole('row', { name: /CI pipeline/ }).getByText('Revoked').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Revoke key CI pipeline' }).count(), 0);
    const after = await fetch(`${server.base}/v1/auth/me`, { headers: { Authorization: `ApiKey ${keyId}:${secret}` } });
    assert.equal(after.status, 401);
  });

  test('uploads a photo with the file picker, with progress, and shows its thumbnail', async () => {
    await go(page, 'Assets', 'Assets');
    await page.getByText('No assets yet').waitFor();
    await page.getByLabel('Choose image files').setInputFiles(join(CORPUS, 'photo_1000x667.jpg'));
    await page.getByText('photo_1000x667.jpg', { exact: true }).first().waitFor();
    await page.getByLabel('Upload tags').fill('corpus, landscape');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await statusText(page, '1 file uploaded.');

    const bar = page.getByRole('progressbar', { name: 'Upload progress of photo_1000x667.jpg' });
    assert.equal(await bar.evaluate((el) => el.value), 100);

    const { assets } = await apiJson(page, '/v1/assets');
    assert.equal(assets.length, 1);
    const [asset] = assets;
    assert.match(asset.public_id, /^photo-1000x667-[0-9a-f]{12}$/);
    assert.deepEqual(asset.tags, ['corpus', 'landscape']);
    // The progress list links to the new asset.
    await page.getByRole('list', { name: 'Uploads' }).getByRole('link', { name: asset.public_id, exact: true }).waitFor();

    const thumb = page.getByRole('img', { name: `Thumbnail of ${asset.public_id}` });
    const width = await imageLoaded(thumb);
    assert.ok(width > 0, 'thumbnail decoded');
    await page.getByText('Showing 1 asset.').waitFor();
  });

  test('uploads by drag and drop into a folder; filters and search narrow the grid', async () => {
    await page.getByLabel('Upload folder').fill('dropped');
    await page.getByLabel('Upload tags').fill('');
    await page.getByLabel('Upload visibility').selectOption('private');
    const bytes = (await readFile(join(CORPUS, 'photo_1920x1200.webp'))).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], 'leaf.webp', { type: 'image/webp' }));
      return dt;
    }, bytes);
    const zone = page.getByRole('group', { name: 'Drop zone for images' });
    await zone.dispatchEvent('dragenter', { dataTransfer });
    await zone.dispatchEvent('dragover', { dataTransfer });
    await zone.dispatchEvent('drop', { dataTransfer });
    await statusText(page, '1 file uploaded.');
    await page.getByText('Showing 2 assets.').waitFor();

    const dropped = page.getByRole('img', { name: /^Thumbnail of dropped\/leaf-[0-9a-f]{12}$/ });
    assert.ok(await imageLoaded(dropped) > 0, 'private thumbnail loads with the session');
    await screenshot(page, 'assets');

    // Filter by folder, then by visibility, then search by prefix; clear brings both back.
    await page.getByLabel('Filter by folder').fill('dropped');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('Showing 1 asset, filtered.').waitFor();
    await dropped.waitFor();
    await page.getByLabel('Filter by folder').fill('');
    await page.getByLabel('Filter by visibility').selectOption('public');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('Showing 1 asset, filtered.').waitFor();
    await page.getByRole('img', { name: /^Thumbnail of photo-1000x667-/ }).waitFor();
    await page.getByLabel('Filter by visibility').selectOption('');
    await page.getByLabel('Filter by tag').fill('landscape');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('Showing 1 asset, filtered.').waitFor();
    await page.getByLabel('Filter by tag').fill('');
    await page.getByLabel('Search by public ID prefix').fill('nothing-like-this');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No asset matches these filters.').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByText('Showing 2 assets.').waitFor();
  });

  test('opens an asset, edits its tags, and builds a transform URL in the playground', async () => {
    await page.getByRole('link', { name: /^Thumbnail of photo-1000x667-/ }).click();
    const heading = page.getByRole('heading', { level: 1, name: /^photo-1000x667-[0-9a-f]{12}$/ });
    await heading.waitFor();
    const publicId = (await heading.textContent()).trim();
    assert.ok(await imageLoaded(page.getByRole('img', { name: `Original image of ${publicId}` })) === 1000);
    await page.getByRole('term').filter({ hasText: 'Original file name' }).waitFor();
    await page.getByText('photo_1000x667.jpg', { exact: true }).waitFor();
    assert.equal(await page.getByLabel('Delivery URL').inputValue(), `${server.base}/v1/image/${publicId}`);

    await page.getByLabel('Tags', { exact: true }).fill('hero, homepage');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await statusText(page, 'Changes saved.');
    const { asset } = await apiJson(page, `/v1/assets/${publicId}`);
    assert.deepEqual(asset.tags, ['hero', 'homepage']);
    assert.equal(asset.visibility, 'public');
    assert.equal(await page.getByLabel('Tags', { exact: true }).inputValue(), 'hero, homepage');

    const transform = page.getByLabel('Transform', { exact: true });
    const url = page.getByLabel('Transformed URL');
    await transform.fill('w_400,h_300,c_fill,f_webp');
    assert.equal(await url.inputValue(), `${server.base}/v1/image/w_400,h_300,c_fill,f_webp/${publicId}`);
    await transform.fill('w_200');
    assert.equal(await url.inputValue(), `${server.base}/v1/image/w_200/${publicId}`);
    await transform.fill('w_400,h_300,c_fill,f_webp');
    await page.getByRole('button', { name: 'Preview' }).click();
    // Until the image engine lands the preview is an error sentence; with it, a 400×300 image.
    const preview = page.getByRole('img', { name: 'Transform preview' });
    const failure = page.getByRole('alert').filter({ hasText: 'The preview failed' });
    await preview.or(failure).first().waitFor();
    if (await preview.isVisible()) {
      assert.equal(await preview.evaluate((img) => `${img.naturalWidth}x${img.naturalHeight}`), '400x300');
    }
    await screenshot(page, 'asset-detail');

    // A transform the server refuses: its error sentence is shown, not swallowed.
    await transform.fill('w_0');
    await page.getByRole('button', { name: 'Preview' }).click();
    await failure.waitFor();
    assert.match(await failure.textContent(), /The preview failed: .+\((400|404)/);
    assert.equal(await preview.isVisible(), false);
  });

  test('deletes an asset after a confirmation', async () => {
    await page.getByRole('link', { name: '← All assets' }).click();
    await page.getByRole('link', { name: /^Thumbnail of dropped\/leaf-/ }).click();
    const heading = page.getByRole('heading', { level: 1, name: /^dropped\/leaf-/ });
    await heading.waitFor();
    const publicId = (await heading.textContent()).trim();
    await page.getByRole('button', { name: 'Delete asset' }).click();
    await page.getByRole('dialog', { name: 'Delete this asset?' }).getByRole('button', { name: 'Delete asset' }).click();
    await page.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
    await statusText(page, `${publicId} was deleted.`);
    await page.getByText('Showing 1 asset.').waitFor();
    const res = await page.request.get(`/v1/assets/${publicId}`);
    assert.equal(res.status(), 404);
  });

  test('uploads HEIC, AVIF and JPEG XL photos, whose thumbnails show in the browser', async () => {
    const hint = page.getByText(/JPEG, PNG, WebP, GIF, AVIF, HEIC or JPEG XL/);
    await hint.waitFor();
    const accept = await page.getByLabel('Choose image files').getAttribute('accept');
    for (const type of ['.heic', '.heif', '.avif', '.jxl']) assert.ok(accept.split(',').includes(type), accept);
    const peer = resolve(CORPUS, '../peer-corpus');
    const files = ['pillow/hopper.heif', 'pillow/transparency.avif', 'jxl-oxide/cmyk_layers.jxl'];
    await page.getByLabel('Upload folder').fill('formats');
    await page.getByLabel('Choose image files').setInputFiles(files.map((f) => join(peer, f)));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await statusText(page, '3 files uploaded.');
    const { assets } = await apiJson(page, '/v1/assets?folder=formats');
    assert.deepEqual(assets.map((a) => a.format).sort(), ['avif', 'heic', 'jxl']);
    for (const asset of assets) {
      // The grid's thumbnails are renders: JPEG, PNG or AVIF, whatever the original.
      const width = await imageLoaded(page.getByRole('img', { name: `Thumbnail of ${asset.public_id}` }));
      assert.ok(width > 0, `${asset.public_id}: thumbnail decoded`);
    }
  });

  test('presets: an admin creates, replaces and deletes one; refused names and transforms are said in words', async () => {
    await go(page, 'Presets', 'Presets');
    await page.getByText('No presets yet.').waitFor();
    const name = page.getByLabel('Preset name');
    const transform = page.getByLabel('Transform', { exact: true });
    const save = page.getByRole('button', { name: 'Save preset' });

    // Created (201): the server's canonical form is what the page shows.
    await name.fill('card');
    await transform.fill('c_fill,h_300,w_400,g_auto');
    await save.click();
    await statusText(page, 'Preset "card" created: t_card is w_400,h_300,c_fill,g_auto.');
    const card = page.getByRole('row', { name: /^card\b/ });
    await card.getByText('w_400,h_300,c_fill,g_auto', { exact: true }).waitFor();
    await card.getByText('/v1/image/t_card/<public_id>', { exact: true }).waitFor();
    assert.equal(await name.inputValue(), '', 'the form is emptied');

    // Replaced (200), from the row's Edit button, which fills the form.
    await page.getByRole('button', { name: 'Edit preset card' }).click();
    assert.equal(await name.inputValue(), 'card');
    assert.equal(await transform.inputValue(), 'w_400,h_300,c_fill,g_auto');
    await transform.fill('q_70,c_fill,w_200,h_200');
    await save.click();
    await statusText(page, 'Preset "card" replaced: t_card is now w_200,h_200,c_fill,q_70.');
    await card.getByText('w_200,h_200,c_fill,q_70', { exact: true }).waitFor();

    // A second one, kept for the playground.
    await name.fill('square');
    await transform.fill('w_200,h_200,c_thumb');
    await save.click();
    await statusText(page, 'Preset "square" created');

    // Refused: the server's sentence beside the form, the field marked invalid, nothing saved.
    const formError = page.getByRole('alert').filter({ hasText: 'The preset was not saved' });
    await name.fill('nested');
    await transform.fill('t_card,f_webp');
    await save.click();
    await formError.filter({ hasText: 'cannot name a preset (t_)' }).waitFor();
    assert.equal(await transform.getAttribute('aria-invalid'), 'true');
    await transform.fill('w_0');
    await save.click();
    await formError.filter({ hasText: 'w_0' }).waitFor();
    assert.match(await formError.textContent(), /The preset was not saved: .*w_0.*1 to 4000/);
    await name.fill('Not A Name');
    await transform.fill('w_100');
    await save.click();
    await formError.filter({ hasText: 'preset name is 1 to 64' }).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal(await transform.getAttribute('aria-invalid'), null);
    let { presets } = await apiJson(page, '/v1/presets');
    assert.deepEqual(presets.map((p) => [p.name, p.transform]).sort(),
      [['card', 'w_200,h_200,c_fill,q_70'], ['square', 'w_200,h_200,c_thumb']]);
    await name.fill('');
    await transform.fill('');
    await screenshot(page, 'presets');

    // Deleted after a confirmation; cancelling keeps it.
    await page.getByRole('button', { name: 'Delete preset card' }).click();
    let dialog = page.getByRole('dialog', { name: 'Delete this preset?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await card.waitFor();
    await page.getByRole('button', { name: 'Delete preset card' }).click();
    dialog = page.getByRole('dialog', { name: 'Delete this preset?' });
    await dialog.getByText('t_card will answer 400').waitFor();
    await dialog.getByRole('button', { name: 'Delete preset' }).click();
    await statusText(page, 'Preset "card" was deleted.');
    await card.waitFor({ state: 'detached' });
    ({ presets } = await apiJson(page, '/v1/presets'));
    assert.deepEqual(presets.map((p) => p.name), ['square']);
  });

  test('focal point: faces found at upload, click to set the point, crops follow, clear', async () => {
    await go(page, 'Assets', 'Assets');
    await page.getByLabel('Upload folder').fill('people');
    await page.getByLabel('Choose image files').setInputFiles(FACE_PORTRAIT);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await statusText(page, '1 file uploaded.');
    const { assets: [face] } = await apiJson(page, '/v1/assets?folder=people');
    assert.equal(face.faces.length, 1, 'one face in the portrait');
    assert.equal(face.focal_point, null);

    await page.getByRole('link', { name: new RegExp(`^Thumbnail of ${face.public_id}`) }).click();
    await page.getByRole('heading', { level: 1, name: face.public_id }).waitFor();
    await page.getByText('1 face found, outlined on the image.').waitFor();
    const stage = page.locator('.focal-stage');
    assert.equal(await stage.locator('.face-box').count(), 1);
    await page.getByText('No focal point set.').waitFor();
    const marker = stage.locator('.focal-marker');
    assert.equal(await marker.isVisible(), false);
    assert.equal(await imageLoaded(page.getByRole('img', { name: `Original image of ${face.public_id}` })), 200);

    // The crop previews, without a focal point (the face leads g_auto).
    const crops = { 'w_160,h_160,c_fill,g_auto': '160x160', 'w_240,h_120,c_fill,g_auto': '240x120', 'w_120,h_200,c_fill,g_auto': '120x200' };
    const cropLoaded = async (transform, query) => {
      const img = page.getByRole('img', { name: `Crop preview ${transform}` });
      await img.scrollIntoViewIfNeeded();
      return eventually(() => img.evaluate((el, q) => el.complete && el.naturalWidth > 0
        && new URL(el.currentSrc).search === q && `${el.naturalWidth}x${el.naturalHeight}`, query),
      { message: `crop ${transform} with ${query}` });
    };
    for (const [transform, size] of Object.entries(crops)) assert.equal(await cropLoaded(transform, '?fp=none'), size);
    const cropPath = `/v1/image/w_160,h_160,c_fill,g_auto/${face.public_id}`;
    const etagBefore = (await page.request.head(cropPath)).headers().etag;

    // A click at 25 % across and 40 % down of the image sets the point there.
    const pick = page.getByRole('button', { name: 'Set focal point' });
    const box = await pick.boundingBox();
    await pick.click({ position: { x: box.width * 0.25, y: box.height * 0.4 } });
    await statusText(page, 'Focal point set: x 0.2');
    let { asset } = await apiJson(page, `/v1/assets/${face.public_id}`);
    assert.ok(Math.abs(asset.focal_point.x - 0.25) < 0.01 && Math.abs(asset.focal_point.y - 0.4) < 0.01,
      JSON.stringify(asset.focal_point));
    const coords = `x ${asset.focal_point.x.toFixed(3)}, y ${asset.focal_point.y.toFixed(3)} (25% across, 40% down)`;
    await page.getByText(`Focal point: ${coords}.`, { exact: true }).waitFor();
    // The marker's centre is on the point.
    await marker.waitFor();
    const [mb, sb] = [await marker.boundingBox(), await stage.boundingBox()];
    assert.ok(Math.abs(mb.x + mb.width / 2 - (sb.x + sb.width * 0.25)) < 2, 'marker x');
    assert.ok(Math.abs(mb.y + mb.height / 2 - (sb.y + sb.height * 0.4)) < 2, 'marker y');
    // The crops are reloaded around it: a new render (new ETag) at the same path.
    const fp = `?fp=${asset.focal_point.x},${asset.focal_point.y}`;
    for (const [transform, size] of Object.entries(crops)) assert.equal(await cropLoaded(transform, fp), size);
    assert.notEqual((await page.request.head(cropPath)).headers().etag, etagBefore);
    await page.getByText('g_auto crops around the focal point.').waitFor();
    await screenshot(page, 'asset-focal-point');

    // From the keyboard: Shift+ArrowDown moves the point a tenth down, Enter sets it.
    await pick.focus();
    await page.keyboard.press('Shift+ArrowDown');
    await page.getByText(/^New focal point: .* Press Enter to set it/).waitFor();
    await page.keyboard.press('Enter');
    await statusText(page, 'Focal point set');
    const before = asset.focal_point;
    ({ asset } = await apiJson(page, `/v1/assets/${face.public_id}`));
    assert.ok(Math.abs(asset.focal_point.y - (before.y + 0.1)) < 0.001 && asset.focal_point.x === before.x,
      JSON.stringify(asset.focal_point));

    // The playground offers the presets: t_square, a 200×200 render.
    await page.getByLabel('Start from a preset').selectOption('square');
    assert.equal(await page.getByLabel('Transform', { exact: true }).inputValue(), 't_square');
    assert.equal(await page.getByLabel('Transformed URL').inputValue(), `${server.base}/v1/image/t_square/${face.public_id}`);
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('img', { name: 'Transform preview' });
    await preview.waitFor();
    assert.equal(await preview.evaluate((img) => `${img.naturalWidth}x${img.naturalHeight}`), '200x200');

    // Cleared: no marker, null through the API, the crops back to the faces.
    await page.getByRole('button', { name: 'Clear focal point' }).click();
    await statusText(page, 'Focal point cleared.');
    await page.getByText('No focal point set.').waitFor();
    assert.equal(await marker.isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Clear focal point' }).isDisabled(), true);
    ({ asset } = await apiJson(page, `/v1/assets/${face.public_id}`));
    assert.equal(asset.focal_point, null);
    assert.equal(await cropLoaded('w_160,h_160,c_fill,g_auto', '?fp=none'), '160x160');
  });

  test('placeholders: the ThumbHash on the dominant colour shows until the image has loaded', async () => {
    const { assets: [face] } = await apiJson(page, '/v1/assets?folder=people');
    assert.match(face.thumbhash, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.match(face.dominant_color, /^#[0-9a-f]{6}$/);

    // The detail (where the last step left off), reloaded with the original held back by the
    // network (routing also turns the browser's cache off).
    const original = await holdBack(page, `/v1/image/${face.public_id}`);
    try {
      await page.reload();
      await page.getByRole('heading', { level: 1, name: face.public_id }).waitFor();
      const placeholder = page.locator('.focal-stage .placeholder');
      const seen = await placeholderOf(placeholder);
      assert.match(seen.url, /^data:image\/png;base64,/);
      assert.equal(seen.color, rgb(face.dominant_color));
      // The portrait's ThumbHash decodes to a portrait: 32 px high, narrower than that.
      assert.ok(Array.isArray(seen.size) && seen.size[1] === 32 && seen.size[0] < 32, JSON.stringify(seen.size));
      const image = page.getByRole('img', { name: `Original image of ${face.public_id}` });
      assert.equal(await image.evaluate((img) => img.naturalWidth), 0, 'the original is still on its way');
      original.release();
      assert.equal(await imageLoaded(image), 200);
      await placeholder.waitFor({ state: 'detached' });
    } finally {
      original.release();
      await original.done();
    }

    // The grid, with its thumbnails held back.
    const thumbs = await holdBack(page, '/v1/image/w_200,h_200,c_fill/');
    try {
      await page.getByRole('link', { name: '← All assets' }).click();
      await page.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
      const thumb = page.getByRole('img', { name: `Thumbnail of ${face.public_id}` });
      const placeholder = page.getByRole('listitem').filter({ has: thumb }).locator('.placeholder');
      const seen = await placeholderOf(placeholder);
      assert.match(seen.url, /^data:image\/png;base64,/);
      assert.equal(seen.color, rgb(face.dominant_color));
      assert.equal(await thumb.evaluate((img) => img.naturalWidth), 0, 'the thumbnail is still on its way');
      thumbs.release();
      assert.ok(await imageLoaded(thumb) > 0);
      await placeholder.waitFor({ state: 'detached' });
    } finally {
      thumbs.release();
      await thumbs.done();
    }
  });

  test('usage: charts the real summary, and formats known numbers exactly', async () => {
    const probe = await page.request.get('/v1/usage/summary');
    assert.equal(probe.status(), 200);
    const { period } = await probe.json();
    await go(page, 'Usage', 'Usage');
    const real = page.getByRole('img', { name: /^Bar chart/ });
    await real.waitFor();
    assert.ok((await real.getAttribute('aria-label')).includes(`Bandwidth (${period})`));
    await screenshot(page, 'usage');

    // The report, with a summary served by a stand-in for the endpoint.
    await page.route('**/v1/usage/summary**', (route) => route.fulfill({
      json: {
        storage_bytes: 3 * 1024 * 1024,
        original_bytes: 2 * 1024 * 1024,
        variant_bytes: 1024 * 1024,
        asset_count: 12,
        bandwidth_bytes: 6 * 1024 * 1024,
        requests: 3456,
        period: '2026-11',
      },
    }));
    await page.reload();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    const chart = page.getByRole('img', { name: /^Bar chart/ });
    await chart.waitFor();
    const label = await chart.getAttribute('aria-label');
    assert.match(label, /Originals: 2\.0 MiB/);
    assert.match(label, /Bandwidth \(2026-11\): 6\.0 MiB/);
    const terms = page.getByRole('term');
    await terms.filter({ hasText: 'Storage' }).waitFor();
    await page.getByText('3.0 MiB', { exact: true }).first().waitFor();
    await page.getByText('3,456', { exact: true }).waitFor();
    await page.unroute('**/v1/usage/summary**');
  });

  test('users: an admin creates a user, who signs in; disable, reset, last-admin and delete', async () => {
    await go(page, 'Users', 'Users');
    await page.getByLabel('Email', { exact: true }).fill(ANN.email);
    await page.getByLabel('Name', { exact: true }).fill(ANN.name);
    await page.getByLabel('Password', { exact: true }).fill(ANN.password);
    await page.getByLabel('Role', { exact: true }).selectOption('user');
    await page.getByRole('button', { name: 'Create user' }).click();
    await statusText(page, `User ${ANN.email} created.`);
    const annRow = page.getByRole('row', { name: new RegExp(ANN.email) });
    await annRow.getByText(ANN.name).waitFor();
    await screenshot(page, 'users');

    // The last admin cannot be demoted: the 409 is said in words.
    await page.getByRole('button', { name: `Make ${ADMIN_EMAIL} a user` }).click();
    await alertText(page, 'last enabled admin');
    await alertText(page, 'Make another user an admin first');

    // Ann signs in, in a fresh browser context, and sees no Users page.
    const { ctx: annCtx, p: ann } = await newPage();
    watch(ann, 'ann');
    try {
      await ann.goto('/dashboard/');
      await signIn(ann, ANN.email, ANN.password);
      const nav = ann.getByRole('navigation', { name: 'Main' });
      assert.equal(await nav.getByRole('link', { name: 'Users' }).isVisible(), false);
      assert.equal(await nav.getByRole('link', { name: 'Presets' }).isVisible(), false);
      await ann.getByText('No assets yet').waitFor(); // the admin's photo is not hers
      await ann.goto('/dashboard/#/users');
      await alertText(ann, 'for admins only');
      await ann.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
      await ann.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();
      await ann.goto('/dashboard/#/presets');
      await alertText(ann, 'for admins only');
      await ann.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();
      assert.equal(await ann.getByRole('heading', { name: 'Presets' }).count(), 0);

      // Disabled by the admin: her next request sends her back to sign in, "session expired".
      await page.getByRole('button', { name: `Disable ${ANN.email}` }).click();
      await page.getByRole('dialog', { name: 'Disable this user?' }).getByRole('button', { name: 'Disable user' }).click();
      await statusText(page, `${ANN.email} is disabled.`);
      await annRow.getByText('Disabled').waitFor();
      await go(ann, 'API keys', 'Sign in to img-cloud');
      await alertText(ann, 'session has expired');

      // Enabled again, with a password reset by the admin: the new password works.
      await page.getByRole('button', { name: `Enable ${ANN.email}` }).click();
      await statusText(page, `${ANN.email} is enabled.`);
      await page.getByRole('button', { name: `Reset password of ${ANN.email}` }).click();
      const reset = page.getByRole('dialog', { name: `Reset the password of ${ANN.email}` });
      await reset.getByLabel('New password').fill('ann-second-password-8830');
      await reset.getByRole('button', { name: 'Set password' }).click();
      await statusText(page, `The password of ${ANN.email} was reset.`);
      await signIn(ann, ANN.email, 'ann-second-password-8830', 'API keys');

      // Promote, then delete with a confirmation.
      await page.getByRole('button', { name: `Make ${ANN.email} an admin` }).click();
      await statusText(page, `${ANN.email} is now an admin.`);
      await annRow.getByText('Admin', { exact: true }).waitFor();
      await page.getByRole('button', { name: `Delete ${ANN.email}` }).click();
      await page.getByRole('dialog', { name: 'Delete this user?' }).getByRole('button', { name: 'Delete user' }).click();
      await statusText(page, `${ANN.email} was deleted.`);
      await annRow.waitFor({ state: 'detached' });
    } finally {
      await annCtx.close();
    }
  });

  test('changes the password', async () => {
    await go(page, 'Password', 'Change password');
    await screenshot(page, 'password');
    await page.getByLabel('Current password').fill('wrong current password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_ADMIN_PASSWORD);
    await page.getByLabel('Repeat new password').fill(NEW_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await alertText(page, 'Error');
    // A wrong current password is not a lost session.
    await page.getByRole('heading', { name: 'Change password', level: 1 }).waitFor();

    await page.getByLabel('Current password').fill(ADMIN_PASSWORD);
    await page.getByLabel('New password', { exact: true }).fill(NEW_ADMIN_PASSWORD);
    await page.getByLabel('Repeat new password').fill('does not match');
    await page.getByRole('button', { name: 'Change password' }).click();
    await alertText(page, 'do not match');

    await page.getByLabel('Repeat new password').fill(NEW_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await statusText(page, 'Password changed.');
    assert.equal(await page.getByLabel('Current password').inputValue(), '');
  });

  test('signs out, the session is over, and the new password signs in', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to img-cloud' }).waitFor();
    await statusText(page, 'You are signed out.');
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to img-cloud' }).waitFor();
    const me = await page.request.get('/v1/auth/me');
    assert.equal(me.status(), 401);

    await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await alertText(page, 'Error');
    // Back where the session left off.
    await signIn(page, ADMIN_EMAIL, NEW_ADMIN_PASSWORD, 'Change password');
  });

  test('works from the keyboard alone', async () => {
    const { ctx, p: kb } = await newPage();
    watch(kb, 'keyboard');
    try {
      await kb.goto('/dashboard/');
      await kb.getByRole('heading', { name: 'Sign in to img-cloud' }).waitFor();
      // The email field has the focus; Tab to the password, Enter submits.
      await kb.keyboard.type(ADMIN_EMAIL);
      await kb.keyboard.press('Tab');
      await kb.keyboard.type(NEW_ADMIN_PASSWORD);
      await kb.keyboard.press('Enter');
      await kb.getByRole('heading', { name: 'Assets', level: 1 }).waitFor();

      // The new page's heading has the focus; Shift+Tab walks back up to the nav.
      const focused = () => kb.evaluate(() => document.activeElement && document.activeElement.textContent.trim());
      await eventually(async () => (await focused()) === 'Assets', { message: 'the heading to take the focus' });
      let reached = false;
      for (let i = 0; i < 8 && !reached; i += 1) {
        await kb.keyboard.press('Shift+Tab');
        reached = (await focused()) === 'API keys';
      }
      assert.ok(reached, 'the API keys link is reachable with Shift+Tab');
      await kb.keyboard.press('Enter');
      await kb.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
      await eventually(() => kb.evaluate(() => document.activeElement.tagName === 'H1'), { message: 'the heading focus' });

      // Create a key: the next Tab stop after the heading is the name field.
      await kb.keyboard.press('Tab');
      assert.equal(await kb.evaluate(() => document.activeElement.labels?.[0]?.textContent), 'Key name');
      await kb.keyboard.type('keyboard key');
      await kb.keyboard.press('Enter');
      await statusText(kb, 'Key "keyboard key" created.');
      // The secret is focused and selected, ready to copy.
      assert.equal(await kb.evaluate(() => document.activeElement.labels?.[0]?.textContent), 'Key secret');

      // A confirmation dialog takes the focus (on Cancel, for a destructive action); Escape closes it.
      await kb.getByRole('button', { name: 'Revoke key keyboard key' }).focus();
      await kb.keyboard.press('Enter');
      const dialog = kb.getByRole('dialog', { name: 'Revoke this key?' });
      await dialog.waitFor();
      assert.equal(await focused(), 'Cancel');
      await kb.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await kb.getByRole('row', { name: /keyboard key/ }).getByText('Active').waitFor();
    } finally {
      await ctx.close();
    }
  });

  test('no uncaught script error and no Content-Security-Policy violation', () => {
    assert.deepEqual(problems, []);
  });
});
