// The real Metaflow UI (a production build of metaflow-ui) in headless Chromium against the
// real binary, on SQLite and on PostgreSQL: the page boots and gets its API base injected; runs
// written through the metadata API as the Metaflow client writes them show on the home page
// with their status, on the run's timeline with every step and task, and on the task page
// with their metadata and artifact names; a run written after the home page loaded appears on
// it, and the steps and tasks it writes next on its timeline, without a reload (the realtime
// websocket); every API call the pages make to the routes served here succeeds. Over the rows and the datastore real Metaflow runs wrote (tests/fixtures), the
// run page draws the run's DAG and shows its parameters, and the task page shows the task's
// stdout and stderr lines and its artifacts' values. Screenshots and the pages' HTML are kept
// as files of the test run (MF_SCREENSHOT_DIR, default build/ui-screenshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
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

// Routes of the UI's API that answer from the database alone; calls to others are recorded,
// not asserted, where the test has no datastore.
const SERVED = [/^\/features$/, /^\/version$/, /^\/links$/, /^\/notifications$/, /^\/plugin$/, /^\/config$/,
  /^\/runs$/, /^\/tags(\/autocomplete)?$/, /^\/flows(\/autocomplete)?$/, /^\/flows\/[^/]+$/,
  /^\/flows\/[^/]+\/runs(\/[^/]+)?$/, /^\/flows\/[^/]+\/runs\/[^/]+\/(steps|tasks|metadata|artifacts)(\/autocomplete)?$/,
  /^\/flows\/[^/]+\/runs\/[^/]+\/steps\/[^/]+(\/(tasks|artifacts))?$/,
  /^\/flows\/[^/]+\/runs\/[^/]+\/steps\/[^/]+\/tasks\/[^/]+(\/(attempts|metadata|artifacts))?$/];

// Runs written through the metadata API as the Metaflow client writes them (its bodies, in its
// order), before the browser looks at them.
const USER = 'browser';
const SYSTEM_TAGS = [`user:${USER}`, 'runtime:dev', 'metaflow_version:2.19.38', 'python_version:3.11.2'];
const ARTIFACTS = ['name', '_transition', '_task_ok', '_success', 'model_score'];

async function post(port, pathname, body, accepted = [200]) {
  const answer = await get(port, pathname, {
    method: 'POST', timeout: 30000, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.ok(accepted.includes(answer.status), `POST ${pathname}: HTTP ${answer.status} ${answer.body}`);
  return answer.body ? JSON.parse(answer.body) : null;
}

// steps: [{ name, tasks: [{ attempts: [true | false | null], foreach }] }]; an attempt is
// true (attempt_ok True), false (attempt_ok False) or null (still running: heartbeats only).
// Returns the run number and the task ids of each step.
async function writeRun(port, flow, steps) {
  await post(port, `/flows/${flow}`, { flow_id: flow, ts_epoch: Date.now() }, [200, 409]);
  const created = await post(port, `/flows/${flow}/run`,
    { flow_id: flow, user_name: USER, tags: [], system_tags: SYSTEM_TAGS, ts_epoch: Date.now() });
  const run = { flow, run: created.run_number, taskIds: {}, steps: [] };
  for (const step of steps) await writeStep(port, run, step);
  return run;
}

// Adds a step with its tasks to a run of writeRun, as the client writes them.
async function writeStep(port, run, step) {
  const now = () => Date.now();
  const { flow } = run;
  const runPath = `/flows/${flow}/runs/${run.run}`;
  const owner = { flow_id: flow, run_number: String(run.run), user_name: USER, tags: [], system_tags: SYSTEM_TAGS };
  await post(port, `${runPath}/steps/${step.name}/step`, { ...owner, step_name: step.name, ts_epoch: now() });
  run.steps.push(step);
  run.taskIds[step.name] = [];
  for (const task of step.tasks) {
    const created = await post(port, `${runPath}/steps/${step.name}/task`, { ...owner, step_name: step.name, ts_epoch: now() });
    const taskPath = `${runPath}/steps/${step.name}/tasks/${created.task_id}`;
    run.taskIds[step.name].push(created.task_id);
    const record = (field_name, value, attempt) => ({
      flow_id: flow, run_number: String(run.run), step_name: step.name, task_id: created.task_id,
      field_name, type: field_name, value, tags: [`attempt_id:${attempt}`], user_name: USER, ts_epoch: now(),
    });
    for (const [attempt, ok] of task.attempts.entries()) {
      await post(port, `${taskPath}/metadata`, [
        record('runtime', 'dev', attempt), record('python_version', '3.11.2', attempt), record('user', USER, attempt),
        record('metaflow_version', '2.19.38', attempt), record('script-name', 'browser_flow.py', attempt)]);
      const started = [record('attempt', String(attempt), attempt), record('origin-run-id', 'None', attempt),
        record('ds-type', 'local', attempt), record('ds-root', '/tmp/ds/.metaflow', attempt)];
      if (task.foreach !== undefined) {
        started.push(record('foreach-stack', [`items=${task.foreach}`], attempt),
          record('foreach-execution-path', `${step.name}:${task.foreach}`, attempt));
      }
      await post(port, `${taskPath}/metadata`, started);
      // A heartbeat less than 10 s after the last one is not recorded (404): both are fine.
      await post(port, `${taskPath}/heartbeat`, {}, [200, 404]);
      if (ok === null) continue;
      await post(port, `${taskPath}/artifact`, ARTIFACTS.map((name) => ({
        ...owner, step_name: step.name, task_id: String(created.task_id), attempt_id: attempt, name,
        content_type: 'pickle-v4', type: 'metaflow.artifact',
        sha: crypto.createHash('sha1').update(`${flow}/${created.task_id}/${attempt}/${name}`).digest('hex'),
        ds_type: 'local', location: ':root:/tmp/ds/.metaflow', ts_epoch: now(),
      })));
      await post(port, `${taskPath}/metadata`, [record('attempt_ok', ok ? 'True' : 'False', attempt)]);
      await post(port, `${taskPath}/metadata`, [record('attempt-done', String(attempt), attempt)]);
    }
  }
  await post(port, `${runPath}/heartbeat`, {}, [200, 404]);
}

// The four runs the pages are checked against, with the status the UI must show for each.
async function writeRuns(apiPort) {
  const finished = await writeRun(apiPort, 'BrowserFinishedFlow', [
    { name: 'start', tasks: [{ attempts: [true] }] },
    { name: 'end', tasks: [{ attempts: [true] }] }]);
  const failed = await writeRun(apiPort, 'BrowserFailedFlow', [
    { name: 'start', tasks: [{ attempts: [true] }] },
    { name: 'end', tasks: [{ attempts: [false] }] }]);
  const running = await writeRun(apiPort, 'BrowserRunningFlow', [
    { name: 'start', tasks: [{ attempts: [true] }] },
    { name: 'train', tasks: [{ attempts: [null] }] }]);
  const foreach = await writeRun(apiPort, 'BrowserForeachFlow', [
    { name: 'start', tasks: [{ attempts: [true] }] },
    { name: 'body', tasks: [{ attempts: [true], foreach: 0 }, { attempts: [false, true], foreach: 1 }, { attempts: [true], foreach: 2 }] },
    { name: 'join', tasks: [{ attempts: [true] }] },
    { name: 'end', tasks: [{ attempts: [true] }] }]);
  return [
    { ...finished, status: 'completed' }, { ...failed, status: 'failed' },
    { ...running, status: 'running' }, { ...foreach, status: 'completed' }];
}

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

// What the page did, for a failure message.
function summary(seen) {
  return `API calls: ${JSON.stringify(seen.api)}\nfailed: ${seen.failed.join('\n')}\n` +
    `page errors: ${seen.errors.join('\n')}\nconsole: ${seen.console.join('\n')}`;
}

async function serveUi(t, backend, extra = [], extraEnv = {}) {
  const apiPort = await freePort();
  const uiPort = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(apiPort), '--ui-port', String(uiPort),
    '--ui-dir', uiBuild(), '--migration-port', '0', '--log-level', 'warning', ...extra];
  const env = { PATH: process.env.PATH, ...extraEnv };
  let runSql;
  if (backend === 'postgres') {
    const database = postgresDatabase(t);
    if (!database) return null;
    Object.assign(env, database.env);
    runSql = database.psql;
  } else {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mf-ui-'));
    t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
    const file = path.join(folder, 'ui.db');
    args.push('--database', `sqlite:${file}`);
    runSql = (sql) => {
      const result = spawnSync('sqlite3', [file], { input: `.timeout 10000\n${sql}`, encoding: 'utf8', timeout: 60000 });
      assert.equal(result.status, 0, result.stderr);
    };
  }
  const service = start(binaryPath(), args, env);
  t.after(() => service.stop());
  await waitFor(apiPort, '/ping', 20000, service);
  await waitFor(uiPort, '/ping', 20000, service);
  return { apiPort, uiPort, service, runSql };
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

    const context = summary(seen);
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

test('with API keys, a browser logs in to the UI by HTTP Basic with a read-only key', { timeout: 120000 }, async (t) => {
  const reason = skipReason();
  if (reason) {
    t.skip(reason);
    return;
  }
  const { uiPort } = await serveUi(t, 'sqlite', ['--api-keys', 'viewer:view-secret read-only']);
  const refused = await get(uiPort, '/');
  assert.equal(refused.status, 401);

  const { browser, close } = await launchBrowser();
  t.after(close);
  const page = await browser.newPage();
  await page.authenticate({ username: 'anyone', password: 'view-secret' });
  const seen = watch(page, uiPort);
  await page.goto(`http://127.0.0.1:${uiPort}/`, { waitUntil: 'networkidle2', timeout: 60000 });
  await page.waitForFunction(() => document.querySelector('#root')?.children.length > 0, { timeout: 30000 });
  const context = summary(seen);
  assert.deepEqual(seen.errors, [], context);
  for (const route of ['/features', '/version', '/links']) {
    assert.ok(seen.api.some((call) => call.path === route && call.status === 200), `${route} did not succeed\n${context}`);
  }
});

// A page of a fresh browser, closed when test `t` ends, watched (see watch); open(path) goes
// to the UI's path.
async function browserPage(t, uiPort) {
  const { browser, close } = await launchBrowser();
  t.after(close);
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const seen = watch(page, uiPort);
  const open = (pathname) => page.goto(`http://127.0.0.1:${uiPort}${pathname}`, { waitUntil: 'domcontentloaded', timeout: 60000 });
  return { page, seen, open };
}

// The page's HTML and a screenshot, kept as files of the test run for whoever reads a failure.
async function keep(page, name) {
  fs.mkdirSync(screenshots, { recursive: true });
  fs.writeFileSync(path.join(screenshots, `${name}.html`), await page.content());
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

// Reads the page with `describe` (run in the page) until `matches` (run here) accepts what it
// shows, for 30 s at most; then fails with what the page last showed and what it did.
async function expectInPage(page, seen, name, describe, matches) {
  const deadline = Date.now() + 30000;
  let found;
  for (;;) {
    // While the page is still loading, reading it may fail; the next read will tell.
    found = await page.evaluate(describe).catch((error) => `(page unreadable: ${error.message})`);
    if (typeof found === 'object' && matches(found)) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await keep(page, `${name}-failed`).catch(() => {});
  assert.fail(`${name}: not shown within 30 s\nthe page shows: ${JSON.stringify(found)}\n${summary(seen)}`);
}

// Marks the page as loaded; expectNotReloaded then fails if it was loaded again since (a
// reload or a navigation forgets the mark).
async function markLoaded(page) {
  await page.evaluate(() => { window.mfLoadedOnce = true; });
}

async function expectNotReloaded(page, seen, name) {
  if (await page.evaluate(() => window.mfLoadedOnce === true)) return;
  await keep(page, `${name}-reloaded`).catch(() => {});
  assert.fail(`${name}: the page was loaded again\n${summary(seen)}`);
}

// The icon metaflow-ui draws for each status.
const STATUS_ICON = { completed: 'icon-completed', running: 'icon-running', failed: 'icon-error' };

// Home: one row per run, carrying the run's status as data-status and as its icon.
function homeRows() {
  return [...document.querySelectorAll('tr[data-testid="result-group-row"]')].map((row) => ({
    flow: row.dataset.flow_id, run: row.dataset.run_id, status: row.dataset.status,
    icon: [...(row.querySelector('[data-testid="status-container-color"] i')?.classList ?? [])].find((c) => c.startsWith('icon-')),
  }));
}

// Timeline: the step rows ("name (count)") and the task rows (links to the task, with the
// task's status icon).
function timelineRows() {
  return {
    steps: [...document.querySelectorAll('[data-testid="tasklistlabel-text"]')].map((label) => label.title),
    tasks: [...document.querySelectorAll('a[data-testid="tasklistlabel-link"]')].map((link) => ({
      href: new URL(link.href).pathname,
      icon: [...(link.querySelector('[data-testid="status-container-color"] i')?.classList ?? [])].find((c) => c.startsWith('icon-')),
    })),
  };
}

// Task page: the attempt tabs, the metadata rows (title -> value) and the artifact table's cells.
function taskView() {
  const metadata = {};
  for (const row of document.querySelectorAll('[data-testid^="titled-row-row-"]')) {
    const title = row.querySelector('[data-testid="titledrow-row-title"]')?.textContent;
    if (title) metadata[title] = row.querySelector('[data-testid="titledrow-row-value"]')?.textContent;
  }
  return {
    attempts: [...document.querySelectorAll('[data-testid^="attempt-tab-"]')].map((tab) => tab.dataset.testid),
    metadata,
    cells: [...document.querySelectorAll('[data-testid="property-table-cell"]')].map((cell) => cell.textContent.trim()),
  };
}

for (const backend of ['sqlite', 'postgres']) {
  test(`the Metaflow UI shows runs written through the metadata API, with their status (${backend})`, { timeout: 240000 }, async (t) => {
    const reason = skipReason();
    if (reason) {
      t.skip(reason);
      return;
    }
    // The artifact table of the task page is behind this feature flag.
    const served = await serveUi(t, backend, [], { FEATURE_ARTIFACT_TABLE: '1' });
    if (!served) return;
    const { apiPort, uiPort } = served;
    const runs = await writeRuns(apiPort);
    const running = runs.find((run) => run.status === 'running');
    // The running run stays running while its task and run heartbeats are fresh (60 s and
    // 360 s): refreshed before each page that shows it, however slow the machine.
    const keepRunning = async () => {
      await post(apiPort, `/flows/${running.flow}/runs/${running.run}/steps/train/tasks/${running.taskIds.train[0]}/heartbeat`, {}, [200, 404]);
      await post(apiPort, `/flows/${running.flow}/runs/${running.run}/heartbeat`, {}, [200, 404]);
    };

    const { page, seen, open } = await browserPage(t, uiPort);

    // Home lists every run with its status.
    await keepRunning();
    await open('/');
    const expectedHome = runs.map(({ flow, run, status }) => ({ flow, run: String(run), status, icon: STATUS_ICON[status] }));
    await expectInPage(page, seen, `home-${backend}`, homeRows, (rows) => rows.length === expectedHome.length &&
      expectedHome.every((want) => rows.some((row) => row.flow === want.flow && row.run === want.run &&
        row.status === want.status && row.icon === want.icon)));
    await keep(page, `home-data-${backend}`);

    // Live: a run started after the home page loaded appears on it, and the steps and tasks
    // it then writes appear on its timeline, all without a reload (the pages' websocket).
    await markLoaded(page);
    const live = await writeRun(apiPort, 'BrowserLiveFlow', [{ name: 'start', tasks: [{ attempts: [true] }] }]);
    await expectInPage(page, seen, `home-live-${backend}`, homeRows, (rows) =>
      rows.some((row) => row.flow === live.flow && row.run === String(live.run)));
    await expectNotReloaded(page, seen, `home-live-${backend}`);
    await open(`/${live.flow}/${live.run}/view/timeline?group=true&order=startTime&direction=asc`);
    await expectInPage(page, seen, `run-live-${backend}`, timelineRows, (shown) => shown.steps.includes('start 1'));
    await markLoaded(page);
    await writeStep(apiPort, live, { name: 'train', tasks: [{ attempts: [null] }, { attempts: [true] }] });
    const liveTasks = live.taskIds.train.map((id) => `/${live.flow}/${live.run}/train/${id}`);
    await expectInPage(page, seen, `run-live-steps-${backend}`, timelineRows, (shown) => shown.steps.includes('train 2') &&
      liveTasks.every((href) => shown.tasks.some((row) => row.href === href)));
    await expectNotReloaded(page, seen, `run-live-steps-${backend}`);
    await keep(page, `run-live-${backend}`);

    // Each run's timeline shows every step, with its task count, and every task with its status.
    for (const run of runs) {
      if (run === running) await keepRunning();
      // The query pins the "Workflow" view (every step, grouped, oldest first): without it the UI
      // picks the view by the run's status, e.g. only the failed tasks of a failed run.
      await open(`/${run.flow}/${run.run}/view/timeline?group=true&order=startTime&direction=asc`);
      const expected = {
        steps: run.steps.map((step) => `${step.name} ${step.tasks.length}`),
        tasks: run.steps.flatMap((step) => step.tasks.map((task, index) => {
          const last = task.attempts.at(-1);
          const status = last === null ? 'running' : last ? 'completed' : 'failed';
          return { href: `/${run.flow}/${run.run}/${step.name}/${run.taskIds[step.name][index]}`, icon: STATUS_ICON[status] };
        })),
      };
      await expectInPage(page, seen, `run-${run.flow}-${backend}`, timelineRows, (shown) =>
        expected.steps.every((step) => shown.steps.includes(step)) && shown.tasks.length === expected.tasks.length &&
        expected.tasks.every((task) => shown.tasks.some((row) => row.href === task.href && row.icon === task.icon)));
      await keep(page, `run-${run.flow}-${backend}`);
    }

    // The retried foreach task: both attempts, the newest one's metadata and artifact names
    // (the UI hides names starting with "_").
    const foreach = runs.find((run) => run.flow === 'BrowserForeachFlow');
    const retried = foreach.taskIds.body[1];
    await open(`/${foreach.flow}/${foreach.run}/body/${retried}`);
    const expectedTask = {
      attempts: ['attempt-tab-0', 'attempt-tab-1'],
      metadata: { attempt: '1', attempt_ok: 'True', 'foreach-execution-path': 'body:1', 'script-name': 'browser_flow.py' },
      artifacts: ARTIFACTS.filter((name) => !name.startsWith('_')),
      hidden: ARTIFACTS.filter((name) => name.startsWith('_')),
    };
    await expectInPage(page, seen, `task-${backend}`, taskView, (shown) =>
      expectedTask.attempts.every((tab) => shown.attempts.includes(tab)) &&
      Object.entries(expectedTask.metadata).every(([field, value]) => shown.metadata[field] === value) &&
      expectedTask.artifacts.every((name) => shown.cells.includes(name)) &&
      !expectedTask.hidden.some((name) => shown.cells.includes(name)));
    // Open the task's metadata so that the screenshot shows it.
    await page.evaluate(() => [...document.querySelectorAll('[data-testid="collapsable-header"]')]
      .find((header) => header.textContent.includes('Task details'))?.click());
    await keep(page, `task-data-${backend}`);

    // The pages read the data through the routes served here, and none of those calls failed;
    // calls to the datastore's routes (these runs have none) and to /ws are only recorded.
    const context = summary(seen);
    for (const route of [/^\/runs$/, /\/runs\/[^/]+\/steps$/, /\/runs\/[^/]+\/tasks$/, /\/tasks\/[^/]+\/attempts$/,
      /\/tasks\/[^/]+\/metadata$/, /\/tasks\/[^/]+\/artifacts$/]) {
      assert.ok(seen.api.some((call) => route.test(call.path) && call.status === 200), `the UI did not read ${route}\n${context}`);
    }
    const failedServed = seen.api.filter((call) => SERVED.some((re) => re.test(call.path)) && ![200, 304].includes(call.status));
    assert.deepEqual(failedServed, [], context);
    assert.deepEqual(seen.errors, [], context);
    fs.writeFileSync(path.join(screenshots, `calls-data-${backend}.json`), JSON.stringify(seen, null, 1));
  });
}

// The rows of the recorded runs (PostgreSQL INSERTs, valid SQLite too), parents first so that
// foreign keys hold; the rows sit beside the datastore those runs wrote.
const FIXTURES = path.join(root, 'tests', 'fixtures');
function recordedRows() {
  const tables = ['flows_v3', 'runs_v3', 'steps_v3', 'tasks_v3', 'metadata_v3', 'artifact_v3'];
  const byTable = new Map(tables.map((table) => [table, []]));
  for (const line of fs.readFileSync(path.join(FIXTURES, 'ui', 'ui-trace-db.sql'), 'utf8').split('\n')) {
    const match = line.match(/^INSERT INTO (?:public\.)?(\w+) /);
    if (match) byTable.get(match[1]).push(line.replace('INSERT INTO public.', 'INSERT INTO '));
  }
  return `BEGIN;\n${tables.flatMap((table) => byTable.get(table)).join('\n')}\nCOMMIT;\n`;
}

// The run page's DAG: the step boxes, in the order drawn.
function dagView() {
  return { nodes: [...document.querySelectorAll('[data-testid="dag-normalitem-box"]')].map((box) => box.textContent.trim()) };
}

// The run header's parameter rows (name -> value as shown), drawn inside its "Details".
function runParameters() {
  const parameters = {};
  for (const row of document.querySelectorAll('[data-testid^="titled-row-row-"]')) {
    const name = row.querySelector('[data-testid="titledrow-row-title"]')?.textContent;
    if (name) parameters[name] = row.querySelector('[data-testid="titledrow-row-value"]')?.textContent;
  }
  return { parameters };
}

// The task page's log lines and the artifact table's cells.
function taskLogsAndValues() {
  return {
    lines: [...document.querySelectorAll('[data-testid="log-line"]')].map((line) => line.textContent),
    cells: [...document.querySelectorAll('[data-testid="property-table-cell"]')].map((cell) => cell.textContent.trim()),
  };
}

for (const backend of ['sqlite', 'postgres']) {
  test(`the Metaflow UI shows the DAG, parameters, logs and artifact values of runs from their datastore (${backend})`, { timeout: 240000 }, async (t) => {
    const reason = skipReason();
    if (reason) {
      t.skip(reason);
      return;
    }
    const served = await serveUi(t, backend, [], {
      FEATURE_ARTIFACT_TABLE: '1', METAFLOW_DATASTORE_SYSROOT_LOCAL: path.join(FIXTURES, 'ui-datastore'),
    });
    if (!served) return;
    const { uiPort, runSql } = served;
    runSql(recordedRows());

    const { page, seen, open } = await browserPage(t, uiPort);

    // The linear run's DAG, drawn from its `_graph_info`: its three steps, in order.
    await open('/AccLinear_ui/1/view/dag');
    await expectInPage(page, seen, `dag-${backend}`, dagView, (shown) =>
      JSON.stringify(shown.nodes) === JSON.stringify(['start', 'middle', 'end']));
    await keep(page, `dag-${backend}`);

    // The parameters of the run that has some, with their values, in the run's header.
    await open('/AccParams_ui/8/view/dag');
    await expectInPage(page, seen, `parameters-${backend}`, runParameters, (shown) =>
      shown.parameters.alpha === '7' && shown.parameters.greeting === 'hello-param' && shown.parameters.ratio === '0.5');
    await page.evaluate(() => [...document.querySelectorAll('[data-testid="collapsable-header"]')]
      .find((header) => header.textContent.includes('Details'))?.click());
    await keep(page, `parameters-${backend}`);

    // A task's stdout and stderr lines, and its artifacts' values as the reference shows them.
    await open('/AccLinear_ui/1/start/2');
    await expectInPage(page, seen, `task-logs-${backend}`, taskLogsAndValues, (shown) =>
      shown.lines.some((line) => line.endsWith('ACC-STDOUT-MARKER start run=1')) &&
      shown.lines.some((line) => line.endsWith('ACC-STDERR-MARKER start')) &&
      shown.cells.includes('[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]') &&
      shown.cells.includes("{'k': [1, 2, 3], 'nested': {'x': 1.5}}") && shown.cells.includes('héllo ☃'));
    await keep(page, `task-logs-${backend}`);

    // Every call the pages made to the datastore's routes succeeded.
    const context = summary(seen);
    for (const route of [/\/runs\/[^/]+\/dag$/, /\/runs\/[^/]+\/parameters$/, /\/logs\/out$/, /\/artifacts$/]) {
      assert.ok(seen.api.some((call) => route.test(call.path) && call.status === 200), `the UI did not read ${route}\n${context}`);
    }
    const failed = seen.api.filter((call) => /\/(dag|parameters|logs\/(out|err)|cards|artifacts)$/.test(call.path) &&
      ![200, 304].includes(call.status));
    assert.deepEqual(failed, [], context);
    assert.deepEqual(seen.errors, [], context);
  });
}
