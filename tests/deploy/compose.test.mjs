// deploy/compose/compose.yaml against the Terraform module's container environment and the
// binary's real interface (environment variables, ports, subcommands, routes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import YAML from 'yaml';
import {
  binaryInterface, binaryPath, checkProbe, deploy, exposedPorts, get, imageCommand, postgresDatabase, projectVersion, read, requirePresent,
  terraformContainerEnv, waitFor,
} from './lib.mjs';

const binary = binaryPath();
const cli = binaryInterface(binary);
const compose = YAML.parse(read(deploy('compose', 'compose.yaml')), { merge: true });
const service = compose.services['metadata-service'];
const migrate = compose.services.migrate;
const postgres = compose.services.postgres;
const tf = await terraformContainerEnv();
const optional = new Set(['MF_METADATA_API_KEYS']); // the module sets it only with a keys secret

test('the service and the migration job use the same environment variables as the Terraform task', () => {
  const expected = [...tf.environment, ...tf.secrets].filter((name) => !optional.has(name)).sort();
  const names = Object.keys(service.environment).filter((n) => n.startsWith('MF_')).sort();
  assert.deepEqual(names, expected);
  const migrateNames = Object.keys(migrate.environment).sort();
  assert.deepEqual(migrateNames, expected.filter((n) => n.startsWith('MF_METADATA_DB_')));
});

test('every environment variable it sets is one the binary reads', async (t) => {
  for (const name of new Set([...Object.keys(service.environment), ...Object.keys(migrate.environment)])) {
    await t.test(name, (t2) => { requirePresent(t2, 'env', name, cli.readsEnv(name)); });
  }
});

test('the database settings point at the postgres service and its credentials', () => {
  const env = service.environment;
  assert.equal(env.MF_METADATA_DB_HOST, 'postgres');
  assert.equal(env.MF_METADATA_DB_PORT, '5432');
  assert.equal(env.MF_METADATA_DB_USER, postgres.environment.POSTGRES_USER);
  assert.equal(env.MF_METADATA_DB_PSWD, postgres.environment.POSTGRES_PASSWORD);
  assert.equal(env.MF_METADATA_DB_NAME, postgres.environment.POSTGRES_DB);
  assert.match(env.MF_METADATA_DB_PSWD, /:\?/, 'no default password: compose refuses to start without one');
});

// The UI listener's port: the one the image exposes beyond the API's and the migration API's.
const uiPort = 8083;

test('ports: the container ports are the ones the service listens on', () => {
  assert.ok(exposedPorts().includes(uiPort), 'the image exposes the UI port');
  const targets = service.ports.map((p) => Number(String(p).split(':').at(-1)));
  assert.equal(String(service.environment.MF_METADATA_PORT), cli.envDefault('MF_METADATA_PORT'));
  assert.deepEqual(targets, [Number(service.environment.MF_METADATA_PORT), Number(service.environment.MF_MIGRATION_PORT), uiPort]);
  assert.match(service.ports[1], /^127\.0\.0\.1:/, 'the unauthenticated migration API is published on loopback only');
});

test('named volume, health checks and start order', () => {
  assert.ok('postgres-data' in compose.volumes);
  assert.ok(postgres.volumes.includes('postgres-data:/var/lib/postgresql/data'));
  assert.match(postgres.healthcheck.test.join(' '), /pg_isready/);
  assert.deepEqual(service.healthcheck.test, ['CMD', '/usr/local/bin/healthcheck.sh', '--ui'], 'the API and the UI listener');
  assert.deepEqual(Object.keys(service.build.args).sort(), ['METAFLOW_UI', 'METAFLOW_UI_SHA256'], 'the UI build arguments');
  assert.ok(fs.existsSync(deploy('container', 'healthcheck.sh')), 'the image installs healthcheck.sh');
  assert.equal(migrate.depends_on.postgres.condition, 'service_healthy');
  assert.equal(service.depends_on.migrate.condition, 'service_completed_successfully');
  assert.equal(service.build.dockerfile, 'deploy/container/Dockerfile');
  assert.equal(service.image, `\${METADATA_SERVICE_IMAGE:-metadata-service:${projectVersion}}`, 'tagged with the project version');
  assert.equal(service.command, undefined, 'the image default serves both ports');
});

test('the migration job runs a subcommand the binary has', (t) => {
  assert.equal(migrate.command.length, 1);
  requirePresent(t, 'subcommands', migrate.command[0], cli.subcommands.has(migrate.command[0]));
});

test('the health check passes against the real service', async (t) => {
  const { api } = await imageCommand(t, binary);
  await checkProbe(t, api, '/ping');
});

// The Compose configuration end to end on a real PostgreSQL: the throwaway cluster of
// scripts/test.sh (MF_TEST_POSTGRES_URL), a fresh database, the migrate service's command,
// then the service with the Compose environment (host, port, user, password and name of the
// cluster), probed for readiness (/ready does a database round trip) and, on the migration
// port, for the schema status.
test('the Compose environment runs the service on a real PostgreSQL', async (t) => {
  const db = postgresDatabase(t);
  if (!db) return;
  if (!requirePresent(t, 'subcommands', migrate.command[0], cli.subcommands.has(migrate.command[0]))) return;
  // Compose's variables, with the cluster's host, port, user, password and a fresh database.
  const env = { ...Object.fromEntries(Object.entries(service.environment).map(([k, v]) => [k, String(v)])), ...db.env, LOGLEVEL: 'info' };
  for (const name of Object.keys(db.env)) assert.ok(name in service.environment, `Compose sets ${name}`);
  const migration = spawnSync(binary, migrate.command, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 120000 });
  assert.equal(migration.status, 0, `${migrate.command.join(' ')}: ${migration.stdout}${migration.stderr}`);
  const { api, migration: migrationPort, child } = await imageCommand(t, binary, env);
  assert.equal((await waitFor(api, '/ready', 30000, child)).status, 200, 'ready on PostgreSQL');
  // The flow lands in that database, not in a SQLite file beside it.
  assert.equal((await get(api, '/flows/DeployCheck', { method: 'POST', body: '{}' })).status, 200);
  assert.equal(db.psql("SELECT count(*) FROM flows_v3 WHERE flow_id = 'DeployCheck'"), '1');
  await t.test('schema status on the migration port', async (t2) => {
    if (!requirePresent(t2, 'env', 'MF_MIGRATION_PORT', cli.readsEnv('MF_MIGRATION_PORT'))) return;
    const answer = await waitFor(migrationPort, '/db_schema_status', 10000, child);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(JSON.parse(answer.body).is_up_to_date, true, 'up to date after migrate');
  });
});
