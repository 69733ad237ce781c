// Builds and starts the real `imgcloud` server on a free port with a fresh data dir.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const TEST_DIR = resolve(here, '..');
export const REPO_ROOT = resolve(TEST_DIR, '../..');

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'dashboard-admin-pass-7431';

function run(cmd, args, opts) {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('exit', (code, signal) => (code === 0
      ? ok()
      : fail(new Error(`${cmd} ${args.join(' ')} failed (${signal || `exit ${code}`})`))));
  });
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * IMGCLOUD_BIN set: use that binary as is. Otherwise `cargo build -p imgcloud-local` from the
 * repository root (cargo waits for another build's lock) and use target/debug/imgcloud.
 */
export async function buildServer() {
  if (process.env.IMGCLOUD_BIN) return resolve(process.env.IMGCLOUD_BIN);
  await run('cargo', ['build', '-p', 'imgcloud-local'], { cwd: REPO_ROOT, env: process.env });
  const targetDir = process.env.CARGO_TARGET_DIR
    ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
    : resolve(TEST_DIR, '../../target');
  return join(targetDir, 'debug', 'imgcloud');
}

export async function startServer(bin) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'imgcloud-dashboard-'));
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('IMGCLOUD_')) delete env[key];
  Object.assign(env, {
    IMGCLOUD_ADDR: `127.0.0.1:${port}`,
    IMGCLOUD_PUBLIC_URL: base,
    IMGCLOUD_DATA_DIR: dataDir,
    IMGCLOUD_ADMIN_EMAIL: ADMIN_EMAIL,
    IMGCLOUD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    RUST_LOG: env.RUST_LOG || 'warn',
  });
  const child = spawn(bin, [], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = null;
  const exitPromise = new Promise((r) => child.on('exit', (code, signal) => {
    exited = signal || `exit ${code}`;
    r();
  }));
  child.on('error', (err) => { exited = `spawn error: ${err.message}`; });

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`imgcloud stopped at start (${exited}):\n${log}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`imgcloud did not answer /healthz within 60 s:\n${log}`);
    }
    await sleep(100);
  }

  return {
    base,
    dataDir,
    log: () => log,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
