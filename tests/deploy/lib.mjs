// Shared helpers of the deployment checks (node --test tests/deploy/).
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const deploy = (...parts) => path.join(root, 'deploy', ...parts);
export const read = (file) => fs.readFileSync(file, 'utf8');

// What the deployment builds on but other engineers were still adding when the deployment was
// written. A check on one of these that the binary does not have yet is skipped with a
// message instead of failing; anything else the deployment uses must exist already. Everything
// has landed (the PostgreSQL variables, MF_MIGRATION_PORT and `migrate` were the last), so the
// lists are empty and losing any of it fails; list here what a deployment starts using before
// the binary has it.
export const PENDING = {
  env: [],
  subcommands: [],
  routes: [],
};

// The binary under test: MF_BINARY (ctest passes the build's), else build/metadata-service.
export function binaryPath() {
  const binary = path.resolve(process.env.MF_BINARY || path.join(root, 'build', 'metadata-service'));
  if (!fs.existsSync(binary)) throw new Error(`no binary at ${binary}: build first or set MF_BINARY`);
  return binary;
}

function run(binary, args) {
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 20000 });
  if (result.error) throw result.error;
  return result.stdout + result.stderr;
}

// The binary's real interface, read from its --help (CLI11's layout) and its own bytes.
//   serve --help:  "  --port UINT=8080 (Env:MF_METADATA_PORT)"
//   --help:        "Subcommands:\n  serve   Serve the metadata API"
export function binaryInterface(binary = binaryPath()) {
  const serveHelp = run(binary, ['serve', '--help']);
  const flags = new Map();
  for (const match of serveHelp.matchAll(/^\s+(?:-\w,)?(--[\w-]+)(?: ([A-Z]+)\b(?:=(\S*))?)?(?:[^\n]*?\(Env:(\w+)\))?/gm)) {
    flags.set(match[1], { type: match[2] ?? null, default: match[3] ?? null, env: match[4] ?? null });
  }
  const mainHelp = run(binary, ['--help']);
  const subcommands = new Set();
  const section = mainHelp.split(/^Subcommands:\s*$/m)[1] ?? '';
  for (const match of section.matchAll(/^\s+([\w-]+)\s/gm)) subcommands.add(match[1]);
  const bytes = fs.readFileSync(binary).toString('latin1');
  const envs = new Set([...flags.values()].map((f) => f.env).filter(Boolean));
  return {
    serveHelp, flags, subcommands,
    // An environment variable the binary reads: one a flag names, or one whose name is in
    // the binary's strings (getenv of the database settings).
    readsEnv: (name) => envs.has(name) || bytes.includes(name),
    envDefault: (name) => [...flags.values()].find((f) => f.env === name)?.default ?? null,
  };
}

// Skips (with the reason) when `what` is pending and missing, fails when it is missing and
// not pending. Returns true when present.
export function requirePresent(t, kind, name, present) {
  if (present) return true;
  if (PENDING[kind]?.includes(name)) {
    t.skip(`${kind} ${name} does not exist in the binary yet (pending work, see tests/deploy/lib.mjs PENDING)`);
    return false;
  }
  throw new Error(`the deployment uses ${kind} ${name}, which the binary does not have`);
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function get(port, pathname, { method = 'GET', timeout = 3000, headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: pathname, method, timeout, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`timeout on ${pathname}`)));
    request.on('error', reject);
    request.end(body);
  });
}

export async function waitFor(port, pathname, deadlineMs, child) {
  const end = Date.now() + deadlineMs;
  let last;
  while (Date.now() < end) {
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}: ${child.output}`);
    try {
      return await get(port, pathname);
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing answered ${pathname} on port ${port} within ${deadlineMs} ms: ${last}`);
}

// Starts a command in a fresh temporary directory on loopback; stop() ends it (SIGTERM, then
// SIGKILL after 10 s) and removes the directory.
export function start(command, args, env) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mf-deploy-'));
  const child = spawn(command, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  child.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return child;
}

// deploy/container/Dockerfile as a list of stages, each with its instructions
// ({ op, args }, continuation lines joined, comments dropped).
export function dockerfile(file = deploy('container', 'Dockerfile')) {
  const joined = read(file).split('\n').filter((line) => !/^\s*#/.test(line)).join('\n').replace(/\\\n/g, ' ');
  const stages = [];
  for (const line of joined.split('\n')) {
    const match = line.trim().match(/^([A-Z]+)\s+(.*)$/);
    if (!match) continue;
    const [, op, args] = match;
    if (op === 'FROM') stages.push({ from: args.trim(), instructions: [] });
    stages.at(-1).instructions.push({ op, args: args.trim().replace(/\s+/g, ' ') });
  }
  return stages;
}

// The ENV of a stage as an object (`ENV A=1 B=2` form).
export function dockerEnv(stage) {
  const env = {};
  for (const { op, args } of stage.instructions.filter((i) => i.op === 'ENV')) {
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[match[1]] = match[2].replace(/^"|"$/g, '');
  }
  return env;
}

// The ports the image's last stage exposes.
export function exposedPorts() {
  const runtime = dockerfile().at(-1);
  return runtime.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(' ').map(Number));
}

// Runs the image's command as the image does (ENTRYPOINT + CMD + ENV of the Dockerfile's
// last stage, the ENTRYPOINT being the binary under test) plus extraEnv, with every port
// (API, migration, UI) always moved to a free one on loopback. Waits for /ping on the
// API; the process is stopped when test `t` ends.
export async function imageCommand(t, binary, extraEnv = {}) {
  const runtime = dockerfile().at(-1);
  const last = (op) => JSON.parse(runtime.instructions.filter((i) => i.op === op).at(-1).args);
  const api = await freePort();
  const migration = await freePort();
  const ui = await freePort();
  const imageEnv = dockerEnv(runtime);
  delete imageEnv.MF_UI_STATIC_DIR; // a folder that exists only in the image
  const env = {
    PATH: process.env.PATH, ...imageEnv, ...extraEnv,
    MF_METADATA_HOST: '127.0.0.1', MF_METADATA_PORT: String(api), MF_MIGRATION_PORT: String(migration),
    MF_UI_METADATA_PORT: String(ui),
  };
  const [entrypoint, ...entrypointArgs] = last('ENTRYPOINT');
  if (entrypoint !== '/usr/local/bin/metadata-service') throw new Error(`unexpected ENTRYPOINT ${entrypoint}`);
  const child = start(binary, [...entrypointArgs, ...last('CMD')], env);
  t.after(() => child.stop());
  const ping = await waitFor(api, '/ping', 30000, child);
  return { api, migration, env, child, ping };
}

// The container environment of the Terraform module's task: names set as `environment`
// and as `secrets`.
export async function terraformContainerEnv() {
  const { parse } = await import('@cdktf/hcl2json');
  const ecs = await parse('ecs.tf', read(deploy('terraform', 'metadata-service', 'ecs.tf')));
  const containers = ecs.resource.aws_ecs_task_definition.this[0].container_definitions;
  const names = (section) => [...(containers.split(`${section} = `)[1] ?? '').split(/\n\s{6}\w+\s*=\s*[^\n]*$/m)[0]
    .matchAll(/name\s*=\s*"([A-Z_]+)"/g)].map((m) => m[1]);
  return { environment: names('environment'), secrets: names('secrets') };
}

// Checks that the running service answers a probe path with 200; a PENDING route that is
// not there yet (404) is skipped with a message.
export async function checkProbe(t, port, pathname) {
  const answer = await get(port, pathname);
  if (answer.status === 404 && PENDING.routes.includes(pathname)) {
    t.skip(`route ${pathname} does not exist in the binary yet (pending work)`);
    return;
  }
  if (answer.status !== 200) throw new Error(`probe ${pathname}: HTTP ${answer.status} ${answer.body}`);
}

// The project's version (CMakeLists.txt), which every image tag of deploy/ carries.
export const projectVersion = read(path.join(root, 'CMakeLists.txt')).match(/project\(\w+ VERSION ([\d.]+)/)[1];

// A fresh database in the throwaway PostgreSQL cluster of scripts/test.sh
// (MF_TEST_POSTGRES_URL), dropped when test `t` ends: the MF_METADATA_DB_* variables that
// reach it, and psql(sql) on it. null (t skipped, saying why) without a cluster.
export function postgresDatabase(t) {
  const url = process.env.MF_TEST_POSTGRES_URL;
  if (!url) {
    t.skip('MF_TEST_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL cluster and sets it)');
    return null;
  }
  // The SQL goes in on standard input: a script may be longer than one argument may be.
  const run = (target, sql) => {
    const result = spawnSync('psql', [target, '-v', 'ON_ERROR_STOP=1', '-qAt'], { input: sql, encoding: 'utf8', timeout: 30000 });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
  };
  const name = `mf_deploy_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  run(url, `CREATE DATABASE ${name}`);
  t.after(() => run(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const cluster = new URL(url);
  const database = new URL(url);
  database.pathname = `/${name}`;
  return {
    env: {
      MF_METADATA_DB_HOST: cluster.hostname,
      MF_METADATA_DB_PORT: cluster.port || '5432',
      MF_METADATA_DB_USER: decodeURIComponent(cluster.username),
      MF_METADATA_DB_PSWD: decodeURIComponent(cluster.password) || 'unused',
      MF_METADATA_DB_NAME: name,
      MF_METADATA_DB_SSL_MODE: 'disable',
    },
    psql: (sql) => run(database.href, sql),
  };
}
