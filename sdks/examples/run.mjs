// The seed's SDK examples, run black-box. seed/ holds them exactly as the seed prints them (checked
// here against the seed when it is at hand); both packages are installed from their folders the way
// a user installs them (npm pack + npm install of the tarball; pip install of the folder into a new
// venv), each example runs unchanged in a temp dir holding ./photo.jpg and ./hero.jpg, and its output
// is compared with what the seed shows. Only the host differs: the examples' 'https://img-cloud.org'
// is replaced by the test server's URL.
//
// Needs: CLOUDIMG_TEST_BASE_URL, CLOUDIMG_TEST_ADMIN_EMAIL, CLOUDIMG_TEST_ADMIN_PASSWORD,
// CLOUDIMG_TEST_CORPUS (all set by scripts/test-sdks); PYTHON (default python3).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sdks = path.resolve(here, '..');
const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/test-sdks`);
  return value;
};
const base = need('CLOUDIMG_TEST_BASE_URL');
const corpus = need('CLOUDIMG_TEST_CORPUS');
const python = process.env.PYTHON || 'python3';
const seedFile = process.env.CLOUDIMG_SEED || path.resolve(sdks, '../../shared/seed/000_ae10ee950f4bda34.txt');
const SEED_HOST = 'https://img-cloud.org';

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}\n${String(error.stack || error).replace(/^/gm, '  ')}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const run = (file, args, options) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...options });

const examples = Object.fromEntries(
  ['quickstart.js', 'node-sdk.js', 'python-sdk.py'].map((name) => [name, fs.readFileSync(path.join(here, 'seed', name), 'utf8')]),
);

await check('the examples in seed/ are the seed\'s own, character for character', () => {
  if (!fs.existsSync(seedFile)) {
    console.log(`  (the seed is not at ${seedFile}: compared nothing)`);
    return;
  }
  const seed = fs.readFileSync(seedFile, 'utf8');
  for (const [name, text] of Object.entries(examples)) assert(seed.includes(text.trimEnd()), `${name} differs from the seed`);
});

// A fresh user and key, so that the examples' listings see only their own assets.
async function newKey() {
  const login = async (email, password) => {
    const response = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    assert(response.status === 200, `login: ${response.status}`);
    return response.headers.getSetCookie().find((c) => c.startsWith('imgcloud_session=')).split(';')[0];
  };
  const post = async (cookie, url, body, status) => {
    const response = await fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(body),
    });
    assert(response.status === status, `${url}: ${response.status}`);
    return response.json();
  };
  const admin = await login(need('CLOUDIMG_TEST_ADMIN_EMAIL'), need('CLOUDIMG_TEST_ADMIN_PASSWORD'));
  const email = `seed-${randomBytes(6).toString('hex')}@example.com`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  await post(admin, '/v1/users', { email, password, role: 'user' }, 201);
  const key = await post(await login(email, password), '/v1/api-keys', { name: 'seed examples' }, 201);
  return { CLOUDIMG_KEY_ID: key.key_id, CLOUDIMG_KEY_SECRET: key.key_secret };
}

async function assetStatus(key, publicId) {
  const response = await fetch(`${base}/v1/assets/${publicId}`, {
    headers: { authorization: `ApiKey ${key.CLOUDIMG_KEY_ID}:${key.CLOUDIMG_KEY_SECRET}` },
  });
  return response.status;
}

/** The example with the seed's host replaced by the test server's. */
function pointed(text) {
  assert(text.includes(SEED_HOST), 'the example names no host');
  return text.replaceAll(`'${SEED_HOST}'`, `'${base}'`).replaceAll(`"${SEED_HOST}"`, `"${base}"`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudimg-seed-examples-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const photo = path.join(corpus, 'photo_1000x667.jpg');
const hex12 = '[0-9a-f]{12}';

// -- Node.js: npm pack, then npm install of the tarball into an empty app --------------------
const nodeApp = path.join(work, 'node-app');
fs.mkdirSync(nodeApp);
const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], { cwd: path.join(sdks, 'node') }));
fs.writeFileSync(path.join(nodeApp, 'package.json'), JSON.stringify({ name: 'seed-examples', private: true }));
run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, packed.filename)], { cwd: nodeApp });
for (const name of ['photo.jpg', 'hero.jpg']) fs.copyFileSync(photo, path.join(nodeApp, name));

// The seed's Node examples use require() and top-level await: an ES module with require() made
// for it runs them unchanged.
const PRELUDE = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n";

await check('Node quickstart prints asset.url and the urlFor URL in the seed\'s shape', async () => {
  const key = await newKey();
  fs.writeFileSync(path.join(nodeApp, 'quickstart.mjs'), PRELUDE + pointed(examples['quickstart.js']));
  const out = run('node', ['quickstart.mjs'], { cwd: nodeApp, env: { ...process.env, ...key } });
  // The seed's //=> lines, with the generated id's 12 hex digits left open.
  const shown = [...examples['quickstart.js'].matchAll(/^\/\/=> (.*)$/gm)].map((m) => m[1]);
  assert(shown.length === 2, 'the quickstart shows two lines');
  const lines = out.trimEnd().split('\n');
  assert(lines.length === 2, `two lines printed, not:\n${out}`);
  const id = lines[0].match(new RegExp(`/v1/image/(photo-${hex12})$`))?.[1];
  assert(id, `no generated id in ${lines[0]}`);
  for (let i = 0; i < 2; i++) {
    const expected = shown[i].replace(SEED_HOST, base).replace(/photo-[0-9a-f]{12}/, id);
    assert(lines[i] === expected, `line ${i + 1}: ${lines[i]}\n  expected ${expected}`);
  }
  const delivered = await fetch(lines[1]);
  assert(delivered.status === 200 && delivered.headers.get('content-type') === 'image/webp', `${lines[1]}: ${delivered.status}`);
});

await check('Node SDK example uploads, builds URLs, signs, updates, deletes and lists', async () => {
  const key = await newKey();
  const epilogue = '\nconsole.log(JSON.stringify({ public_id: asset.public_id, thumb, signed, assets }));\n';
  fs.writeFileSync(path.join(nodeApp, 'node-sdk.mjs'), PRELUDE + pointed(examples['node-sdk.js']) + epilogue);
  const out = JSON.parse(run('node', ['node-sdk.mjs'], { cwd: nodeApp, env: { ...process.env, ...key } }));
  assert(new RegExp(`^marketing/hero-${hex12}$`).test(out.public_id), `public_id ${out.public_id}`);
  assert(out.thumb === `${base}/v1/image/w_400,h_400,c_fill,q_80,f_webp/${out.public_id}`, `thumb ${out.thumb}`);
  const signedShape = new RegExp(`^${escape(base)}/v1/image/w_200/${escape(out.public_id)}\\?expires=\\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}$`);
  assert(signedShape.test(out.signed), `signed ${out.signed}`);
  assert(Array.isArray(out.assets) && out.assets.length === 0, `listed after delete: ${JSON.stringify(out.assets)}`);
  assert((await assetStatus(key, out.public_id)) === 404, 'the asset is deleted');
});

// -- Python: pip install of the folder into a new venv -----------------------------------------
const venv = path.join(work, 'venv');
run(python, ['-m', 'venv', venv]);
const venvPython = path.join(venv, 'bin', 'python');
run(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', path.join(sdks, 'python')]);
const pyApp = path.join(work, 'py-app');
fs.mkdirSync(pyApp);
fs.copyFileSync(photo, path.join(pyApp, 'photo.jpg'));

await check('Python SDK example prints the public_id and url, url_for and signed_url, then updates and deletes', async () => {
  const key = await newKey();
  // The seed's Python example reads os.environ without importing os.
  fs.writeFileSync(path.join(pyApp, 'python_sdk.py'), `import os\n${pointed(examples['python-sdk.py'])}`);
  const out = run(venvPython, ['python_sdk.py'], { cwd: pyApp, env: { ...process.env, ...key } });
  const lines = out.trimEnd().split('\n');
  assert(lines.length === 3, `three lines printed, not:\n${out}`);
  const id = lines[0].split(' ')[0];
  assert(new RegExp(`^gallery/photo-${hex12}$`).test(id), `public_id ${id}`);
  assert(lines[0] === `${id} ${base}/v1/image/${id}`, `line 1: ${lines[0]}`);
  assert(lines[1] === `${base}/v1/image/w_400,h_400,c_fill,q_80,f_webp/${id}`, `line 2: ${lines[1]}`);
  const signedShape = new RegExp(`^${escape(base)}/v1/image/w_200/${escape(id)}\\?expires=\\d+&v=[0-9a-f]{32}&sig=[A-Za-z0-9_-]{43}$`);
  assert(signedShape.test(lines[2]), `line 3: ${lines[2]}`);
  assert((await assetStatus(key, id)) === 404, 'the asset is deleted');
});

const passed = results.filter(Boolean).length;
console.log(`examples: ${passed} passed, ${results.length - passed} failed`);
process.exitCode = passed === results.length ? 0 : 1;
