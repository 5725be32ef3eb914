// The Terraform module's DB-migration function (lambda/db_migrate.py), run with python3
// against a stand-in of the migration API on loopback: GET /db_schema_status, PATCH /upgrade,
// GET /db_schema_status, and a failure on any non-2xx answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { deploy } from './lib.mjs';

const status = (upToDate) => JSON.stringify({
  is_up_to_date: upToDate, current_version: upToDate ? '20261125000000' : '20230118020300',
  migration_in_progress: false, db_schema_versions: ['1'], unapplied_migrations: upToDate ? [] : ['20260615000000'],
});

async function invoke(answers) {
  const calls = [];
  let upgraded = false;
  const server = http.createServer((request, response) => {
    calls.push(`${request.method} ${request.url}`);
    const [code, body] = answers(request, upgraded);
    if (request.method === 'PATCH' && code === 200) upgraded = true;
    response.writeHead(code, { 'Content-Type': 'text/plain' }).end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const python = spawn('python3', ['-B', '-c', [
    'import json, sys', `sys.path.insert(0, ${JSON.stringify(deploy('terraform', 'metadata-service', 'lambda'))})`,
    'import db_migrate', 'print(json.dumps(db_migrate.handler({}, None)))',
  ].join('\n')], { env: { PATH: process.env.PATH, MD_LB_ADDRESS: `http://127.0.0.1:${port}`, MD_TIMEOUT_SECONDS: '10' } });
  let output = '';
  python.stdout.on('data', (d) => { output += d; });
  python.stderr.on('data', (d) => { output += d; });
  const timer = setTimeout(() => python.kill('SIGKILL'), 30000);
  const code = await new Promise((r) => python.on('exit', r));
  clearTimeout(timer);
  server.close();
  return { code, output, calls };
}

test('status, upgrade, status again', async () => {
  const { code, output, calls } = await invoke((request, upgraded) => (request.method === 'PATCH'
    ? [200, 'upgrade success'] : [200, status(upgraded)]));
  assert.equal(code, 0, output);
  assert.deepEqual(calls, ['GET /db_schema_status', 'PATCH /upgrade', 'GET /db_schema_status']);
  const result = JSON.parse(output.trim().split('\n').at(-1));
  assert.equal(result.before.is_up_to_date, false);
  assert.equal(result.after.is_up_to_date, true);
});

test('a failed upgrade fails the invocation', async () => {
  const { code, output, calls } = await invoke((request) => (request.method === 'PATCH'
    ? [500, 'upgrade failed'] : [200, status(false)]));
  assert.notEqual(code, 0);
  assert.match(output, /PATCH \/upgrade: HTTP 500: upgrade failed/);
  assert.deepEqual(calls, ['GET /db_schema_status', 'PATCH /upgrade']);
});

test('a failing status fails the invocation before any upgrade', async () => {
  const { code, calls } = await invoke(() => [500, '{"detail": "no database"}']);
  assert.notEqual(code, 0);
  assert.deepEqual(calls, ['GET /db_schema_status']);
});
