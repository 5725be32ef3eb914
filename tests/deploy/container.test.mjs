// The container image without a Docker engine: the Dockerfile's shape, the runtime packages
// against the libraries the binary really links, and the image's command run as the image
// runs it (ENTRYPOINT + CMD + ENV of the Dockerfile, ports moved to free ones, loopback),
// probed on both ports and by the image's HEALTHCHECK script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import {
  PENDING, binaryInterface, binaryPath, deploy, dockerEnv, dockerfile, freePort, get, imageCommand, postgresDatabase,
  projectVersion, read, requirePresent, waitFor,
} from './lib.mjs';

const binary = binaryPath();
const cli = binaryInterface(binary);
const stages = dockerfile();
const runtime = stages.at(-1);
const ops = (stage, op) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);
const json = (stage, op) => JSON.parse(ops(stage, op).at(-1)); // ENTRYPOINT and CMD in exec form
const imageEnv = dockerEnv(runtime);
const packages = (file) => read(deploy('container', file)).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const script = (name) => deploy('container', name);

test('Dockerfile: multi-stage on debian:12-slim, built by build.sh, runtime from runtime-packages.txt', () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  for (const stage of stages) assert.match(stage.from, /^debian:12-slim\b/);
  const build = stages[0];
  assert.ok(ops(build, 'RUN').some((r) => r.includes('deploy/container/build.sh /out')), 'the build stage runs build.sh');
  assert.ok(ops(runtime, 'RUN').some((r) => r.includes('runtime-packages.txt') && r.includes('--no-install-recommends')));
  assert.deepEqual(ops(runtime, 'COPY').filter((c) => c.startsWith('--from=')), ['--from=build /out/bin/ /usr/local/bin/'],
    'the runtime stage takes only the installed binary and scripts from the build');
});

test('Dockerfile: non-root user, OCI labels, ports, HEALTHCHECK, default command', () => {
  const user = ops(runtime, 'USER').at(-1);
  assert.ok(user && !/^(0|root)(:|$)/.test(user), `non-root USER (${user})`);
  const labels = ops(runtime, 'LABEL').join(' ');
  for (const key of ['title', 'description', 'version', 'revision', 'licenses']) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), `label ${key}`);
  }
  assert.ok(ops(runtime, 'ARG').includes(`VERSION=${projectVersion}`), 'the version label is the project\'s version');
  const exposed = ops(runtime, 'EXPOSE').join(' ').split(' ');
  assert.equal(imageEnv.MF_METADATA_PORT, cli.envDefault('MF_METADATA_PORT'), 'the image serves the binary\'s default API port');
  assert.ok(exposed.includes(imageEnv.MF_METADATA_PORT), 'API port exposed');
  assert.equal(imageEnv.MF_MIGRATION_PORT, '8082');
  assert.ok(exposed.includes('8082'), 'migration port exposed');
  const healthcheck = ops(runtime, 'HEALTHCHECK').at(-1);
  assert.match(healthcheck, /CMD \["\/usr\/local\/bin\/healthcheck\.sh"\]/);
  assert.deepEqual(json(runtime, 'ENTRYPOINT'), ['/usr/local/bin/metadata-service']);
  assert.deepEqual(json(runtime, 'CMD'), ['serve']);
  for (const name of Object.keys(imageEnv)) {
    // A variable still being added (PENDING) is tolerated here; the probes below say so.
    assert.ok(cli.readsEnv(name) || PENDING.env.includes(name), `the image sets ${name}, which the binary does not read`);
  }
});

// The Debian package of each library the binary needs directly (NEEDED); the packages' own
// dependencies come with them from apt.
function neededPackages() {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout;
  const paths = Object.fromEntries([...ldd.matchAll(/^\s*(\S+) => (\/\S+)/gm)].map((m) => [m[1], m[2]]));
  const needed = [...spawnSync('readelf', ['-d', binary], { encoding: 'utf8' }).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)]
    .map((m) => m[1]);
  assert.ok(needed.length > 0, 'readelf lists the NEEDED libraries');
  return needed.map((soname) => {
    const lib = paths[soname];
    assert.ok(lib, `${soname} not found`);
    let owner = spawnSync('dpkg', ['-S', fs.realpathSync(lib)], { encoding: 'utf8' });
    if (owner.status !== 0) owner = spawnSync('dpkg', ['-S', lib], { encoding: 'utf8' });
    assert.equal(owner.status, 0, `no Debian package owns ${lib}`);
    return owner.stdout.split(':')[0];
  });
}

test('every library the binary links comes from runtime-packages.txt or the base image', (t) => {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout;
  if (/libasan|libubsan/.test(ldd)) return t.skip('sanitizer build: its runtime is not the image\'s');
  const listed = new Set(packages('runtime-packages.txt'));
  const base = new Set(['libc6', 'libgcc-s1', 'libstdc++6']); // in debian:12-slim (apt needs them)
  const missing = neededPackages().filter((pkg) => !listed.has(pkg) && !base.has(pkg));
  assert.deepEqual(missing, [], 'packages of linked libraries that runtime-packages.txt lacks');
});

// The build stage has only build-packages.txt: for each library the binary links, one of the
// installed -dev packages that depend on its package must be listed there (CI's machine has
// every package of scripts/install-deps.sh, so a missing one would not show in the build).
test('build-packages.txt has the -dev package of every library the binary links', (t) => {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout;
  if (/libasan|libubsan/.test(ldd)) return t.skip('sanitizer build');
  const listed = new Set(packages('build-packages.txt'));
  const devs = spawnSync('dpkg-query', ['-W', '-f', '${Package}\t${Depends}\n'], { encoding: 'utf8' }).stdout
    .split('\n').map((line) => line.split('\t')).filter(([name]) => name?.endsWith('-dev'));
  const base = new Set(['libc6', 'libgcc-s1', 'libstdc++6']);
  const missing = [];
  for (const pkg of new Set(neededPackages())) {
    if (base.has(pkg)) continue;
    const candidates = devs.filter(([, depends]) => (depends ?? '').split(/,\s*/).some((d) => d.split(' ')[0] === pkg)).map(([name]) => name);
    if (!candidates.some((name) => listed.has(name))) missing.push(`${pkg} (one of ${candidates.join(', ') || 'no installed -dev package'})`);
  }
  assert.deepEqual(missing, []);
});

test('the package lists name real Debian 12 packages', (t) => {
  const names = [...packages('runtime-packages.txt'), ...packages('build-packages.txt')];
  const policy = spawnSync('apt-cache', ['policy', ...names], { encoding: 'utf8' });
  if (policy.status !== 0) return t.skip('apt-cache is not usable here');
  const unknown = names.filter((name) => !new RegExp(`^${name.replace(/[.+]/g, '\\$&')}:\\n\\s+Installed: (?!\\(none\\)\\n\\s+Candidate: \\(none\\))`, 'm').test(policy.stdout));
  assert.deepEqual(unknown, [], 'packages apt does not know (run apt-get update?)');
});

const runImageCommand = (t, extraEnv) => imageCommand(t, binary, extraEnv);

test('the image command serves the API', async (t) => {
  const { ping } = await runImageCommand(t);
  assert.deepEqual(ping, { status: 200, body: 'pong' });
});

// The migration API exists only on PostgreSQL, which is what every deployment configures.
test('on PostgreSQL the image command serves the API and the migration API in one process', async (t) => {
  const db = postgresDatabase(t);
  if (!db) return;
  if (!requirePresent(t, 'env', 'MF_MIGRATION_PORT', cli.readsEnv('MF_MIGRATION_PORT'))) return;
  const { ping, migration, child } = await runImageCommand(t, db.env);
  assert.deepEqual(ping, { status: 200, body: 'pong' });
  assert.deepEqual(await waitFor(migration, '/ping', 10000, child), { status: 200, body: 'pong' });
});

test('the image HEALTHCHECK script passes on a live service and fails on a dead port', async (t) => {
  const { env, api } = await runImageCommand(t);
  const check = (port) => spawnSync(script('healthcheck.sh'), [], {
    env: { ...env, MF_METADATA_PORT: String(port) }, encoding: 'utf8', timeout: 15000,
  });
  assert.equal(check(api).status, 0, 'healthy');
  assert.notEqual(check(await freePort()).status, 0, 'unhealthy');
});

// The module, Compose and Kubernetes hand the built-in keys over as MF_METADATA_API_KEYS; the
// probes (/ping) must keep working without a key while the API requires one.
test('built-in API keys from MF_METADATA_API_KEYS: the API wants x-api-key, the health check does not', async (t) => {
  if (!requirePresent(t, 'env', 'MF_METADATA_API_KEYS', cli.readsEnv('MF_METADATA_API_KEYS'))) return;
  const secret = 'deploy-test-secret';
  const { api, env } = await runImageCommand(t, { MF_METADATA_API_KEYS: `deploy:${secret}` });
  assert.equal((await get(api, '/flows')).status, 401, 'no key');
  assert.equal((await get(api, '/flows', { headers: { 'x-api-key': secret } })).status, 200, 'with the key');
  const check = spawnSync(script('healthcheck.sh'), [], { env, encoding: 'utf8', timeout: 15000 });
  assert.equal(check.status, 0, 'the image health check needs no key');
});
