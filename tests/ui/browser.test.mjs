// The real Metaflow UI (a production build of metaflow-ui) in headless Chromium against the
// real binary, on SQLite and on PostgreSQL: the page boots, gets its API base injected, and
// every API call it makes to the routes served here succeeds. Screenshots are kept as files
// of the test run (MF_SCREENSHOT_DIR, default build/ui-screenshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binaryPath, freePort, get, postgresDatabase, root, start, waitFor } from '../deploy/lib.mjs';

// The UI build: MF_UI_BUILD_DIR wins, else the build shared beside the repository.
function uiBuild() {
  const candidates = [process.env.MF_UI_BUILD_DIR, path.resolve(root, '../shared/ui/metaflow-ui-v1.3.13')];
  return candidates.find((dir) => dir && fs.existsSync(path.join(dir, 'index.html'))) ?? null;
}

const chromium = process.env.MF_CHROMIUM || '/usr/bin/chromium';
const screenshots = path.resolve(process.env.MF_SCREENSHOT_DIR || path.join(root, 'build', 'ui-screenshots'));

// Routes of the UI's API that this binary serves today; calls to others are recorded, not
// asserted, until they land.
const SERVED = [/^\/features$/, /^\/version$/, /^\/links$/, /^\/notifications$/, /^\/plugin$/, /^\/config$/];

function skipReason() {
  if (!uiBuild()) return 'no metaflow-ui build: set MF_UI_BUILD_DIR or provide ../shared/ui/metaflow-ui-v1.3.13';
  if (!fs.existsSync(chromium)) return `no Chromium at ${chromium} (Debian package chromium, see scripts/install-deps.sh)`;
  return null;
}

async function launchBrowser() {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mf-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Everything the page did on the network and its console, for the assertions and for the
// failure message.
function watch(page, uiPort) {
  const seen = { api: [], failed: [], errors: [], console: [] };
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.port !== String(uiPort)) return;
    if (url.pathname.startsWith('/static/') || ['/', '/favicon.ico', '/manifest.json'].includes(url.pathname)) return;
    seen.api.push({ path: url.pathname, search: url.search, status: response.status() });
  });
  page.on('requestfailed', (request) => seen.failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('pageerror', (error) => seen.errors.push(String(error)));
  page.on('console', (message) => seen.console.push(`${message.type()}: ${message.text()}`));
  return seen;
}

async function serveUi(t, backend) {
  const apiPort = await freePort();
  const uiPort = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(apiPort), '--ui-port', String(uiPort),
    '--ui-dir', uiBuild(), '--migration-port', '0', '--log-level', 'warning'];
  const env = { PATH: process.env.PATH };
  if (backend === 'postgres') {
    const database = postgresDatabase(t);
    if (!database) return null;
    Object.assign(env, database.env);
  } else {
    args.push('--database', `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mf-ui-')), 'ui.db')}`);
  }
  const service = start(binaryPath(), args, env);
  t.after(() => service.stop());
  await waitFor(apiPort, '/ping', 20000, service);
  await waitFor(uiPort, '/ping', 20000, service);
  return { apiPort, uiPort, service };
}

for (const backend of ['sqlite', 'postgres']) {
  test(`the Metaflow UI boots against the UI listener (${backend})`, { timeout: 120000 }, async (t) => {
    const reason = skipReason();
    if (reason) {
      t.skip(reason);
      return;
    }
    const served = await serveUi(t, backend);
    if (!served) return;
    const { uiPort } = served;

    const index = await get(uiPort, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<script>window\.METAFLOW_SERVICE="\/";<\/script><\/head>/);

    const { browser, close } = await launchBrowser();
    t.after(close);
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const seen = watch(page, uiPort);
    await page.goto(`http://127.0.0.1:${uiPort}/`, { waitUntil: 'networkidle2', timeout: 60000 });
    await page.waitForFunction(() => document.querySelector('#root')?.children.length > 0, { timeout: 30000 });
    fs.mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, `home-${backend}.png`), fullPage: true });

    const context = `API calls: ${JSON.stringify(seen.api)}\nfailed: ${seen.failed.join('\n')}\n` +
      `page errors: ${seen.errors.join('\n')}\nconsole: ${seen.console.join('\n')}`;
    assert.equal(await page.evaluate(() => window.METAFLOW_SERVICE), '/', context);
    assert.deepEqual(seen.errors, [], context);
    for (const route of ['/features', '/version', '/links', '/notifications', '/plugin']) {
      assert.ok(seen.api.some((call) => call.path === route), `the UI did not call ${route}\n${context}`);
    }
    const failedServed = seen.api.filter((call) => SERVED.some((re) => re.test(call.path)) && call.status !== 200);
    assert.deepEqual(failedServed, [], context);
    // The page's own files never fail.
    assert.deepEqual(seen.failed.filter((line) => line.includes('/static/')), [], context);

    // A route of the UI in the browser reloads into the same application.
    await page.goto(`http://127.0.0.1:${uiPort}/SomeFlow/1/view/timeline`, { waitUntil: 'networkidle2', timeout: 60000 });
    await page.waitForFunction(() => document.querySelector('#root')?.children.length > 0, { timeout: 30000 });
    assert.equal(await page.evaluate(() => window.METAFLOW_SERVICE), '/', context);
    await page.screenshot({ path: path.join(screenshots, `run-${backend}.png`), fullPage: true });
    assert.deepEqual(seen.errors, [], context);
  });
}
