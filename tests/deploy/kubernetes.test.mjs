// deploy/kubernetes (kubectl apply -k): the kustomization's resources, and the manifests'
// ports, environment and probes against the Terraform task and the binary's real interface;
// every probe path is requested from the running service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import YAML from 'yaml';
import {
  binaryInterface, binaryPath, checkProbe, deploy, dockerEnv, dockerfile, exposedPorts, freePort, imageCommand, projectVersion, read,
  requirePresent, terraformContainerEnv, waitFor,
} from './lib.mjs';

const binary = binaryPath();
const cli = binaryInterface(binary);
const kustomization = YAML.parse(read(deploy('kubernetes', 'kustomization.yaml')));
const objects = kustomization.resources.flatMap((file) => YAML.parseAllDocuments(read(deploy('kubernetes', file))).map((d) => d.toJS()));
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const deployment = find('Deployment', 'metadata-service');
const job = find('Job', 'metadata-service-migrate');
const configMap = find('ConfigMap', 'metadata-service');
const secret = find('Secret', 'metadata-service');
const container = deployment.spec.template.spec.containers[0];
const tf = await terraformContainerEnv();

// The variables a container gets: envFrom of the ConfigMap plus env entries.
function environment(c) {
  const names = new Set((c.env ?? []).map((e) => e.name));
  for (const source of c.envFrom ?? []) {
    assert.equal(source.configMapRef?.name, configMap.metadata.name, 'envFrom names the ConfigMap');
    Object.keys(configMap.data).forEach((n) => names.add(n));
  }
  return names;
}

test('kustomization: every resource file exists and holds the expected objects', () => {
  for (const file of kustomization.resources) assert.ok(fs.existsSync(deploy('kubernetes', file)), file);
  for (const object of [deployment, job, configMap, secret]) assert.ok(object);
  assert.ok(find('Service', 'metadata-service'));
  assert.ok(find('Service', 'metadata-service-migration'));
  const images = new Set(objects.flatMap((o) => (o.spec?.template?.spec?.containers ?? []).map((c) => c.image)));
  assert.deepEqual([...images], kustomization.images.map((i) => i.name), 'every container image is set by kustomize');
  assert.equal(kustomization.images[0].newTag, projectVersion, 'tagged with the project version');
});

// What the cluster sets beyond the Terraform task: metrics for Prometheus on their own port.
const clusterOnly = ['MF_METADATA_METRICS_PORT'];

test('the service gets the same environment variables as the Terraform task, the job the database ones', () => {
  const expected = [...tf.environment, ...tf.secrets, ...clusterOnly].sort();
  assert.deepEqual([...environment(container)].filter((n) => n.startsWith('MF_')).sort(), expected);
  const jobEnv = [...environment(job.spec.template.spec.containers[0])];
  for (const name of expected.filter((n) => n.startsWith('MF_METADATA_DB_'))) assert.ok(jobEnv.includes(name), `job: ${name}`);
});

test('every environment variable is one the binary reads', async (t) => {
  const names = new Set([...environment(container), ...environment(job.spec.template.spec.containers[0])]);
  for (const name of names) await t.test(name, (t2) => { requirePresent(t2, 'env', name, cli.readsEnv(name)); });
});

test('secret references name keys of the Secret', () => {
  for (const c of [container, job.spec.template.spec.containers[0]]) {
    for (const entry of c.env ?? []) {
      const ref = entry.valueFrom?.secretKeyRef;
      if (!ref) continue;
      assert.equal(ref.name, secret.metadata.name);
      assert.ok(ref.key in secret.stringData, `${ref.key} in the Secret`);
    }
  }
  assert.ok(!('MF_METADATA_DB_PSWD' in configMap.data), 'the password is not in the ConfigMap');
});

test('ports: the container and Services use the ports the service listens on', () => {
  const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
  assert.equal(String(ports.http), configMap.data.MF_METADATA_PORT);
  assert.equal(String(ports.http), cli.envDefault('MF_METADATA_PORT'));
  assert.equal(String(ports.migration), configMap.data.MF_MIGRATION_PORT);
  assert.equal(String(ports.migration), dockerEnv(dockerfile().at(-1)).MF_MIGRATION_PORT);
  assert.equal(ports.ui, 8083);
  assert.ok(exposedPorts().includes(ports.ui), 'the image exposes the UI port');
  assert.equal(String(ports.metrics), configMap.data.MF_METADATA_METRICS_PORT);
  const annotations = deployment.spec.template.metadata.annotations;
  assert.equal(annotations['prometheus.io/port'], String(ports.metrics));
  for (const service of objects.filter((o) => o.kind === 'Service')) {
    for (const port of service.spec.ports) assert.ok(port.targetPort in ports, `${service.metadata.name}: ${port.targetPort}`);
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  }
  assert.equal(container.command, undefined, 'the image default serves both ports');
  assert.equal(container.args, undefined, 'the image default serves both ports');
});

test('non-root, read-only root file system', () => {
  for (const pod of [deployment.spec.template.spec, job.spec.template.spec]) {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
  }
});

test('the migration Job runs a subcommand the binary has', (t) => {
  const args = job.spec.template.spec.containers[0].args;
  assert.equal(args.length, 1);
  requirePresent(t, 'subcommands', args[0], cli.subcommands.has(args[0]));
});

// The startup probe is the image's health check script on both listeners; the container test
// (scripts/test-container.sh) runs it in the built image.
test('probes: startup by the image health check on the API and the UI, liveness on /ping, readiness on its own route', async (t) => {
  assert.deepEqual(container.startupProbe.exec.command, ['/usr/local/bin/healthcheck.sh', '--ui']);
  assert.equal(container.livenessProbe.httpGet.path, '/ping');
  assert.ok(container.readinessProbe.httpGet.path, 'a readiness probe');
  const { api } = await imageCommand(t, binary);
  for (const kind of ['livenessProbe', 'readinessProbe']) {
    const probe = container[kind].httpGet;
    assert.equal(probe.port, 'http', `${kind} on the API port`);
    await t.test(`${kind} ${probe.path}`, (t2) => checkProbe(t2, api, probe.path));
  }
});

test('metrics: the scrape annotations name a port and path the binary serves', async (t) => {
  const annotations = deployment.spec.template.metadata.annotations;
  if (!requirePresent(t, 'env', 'MF_METADATA_METRICS_PORT', cli.readsEnv('MF_METADATA_METRICS_PORT'))) return;
  const metrics = await freePort();
  await imageCommand(t, binary, { MF_METADATA_METRICS_PORT: String(metrics) });
  const answer = await waitFor(metrics, annotations['prometheus.io/path'], 10000);
  assert.equal(answer.status, 200);
});
