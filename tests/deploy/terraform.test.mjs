// The Terraform module against its required interface (the original module's, as
// transcribed in fixtures/terraform-module-interface.json) and against itself: every .tf file
// parses (@cdktf/hcl2json), every var.X is declared and every input used, every reference to
// a resource or data source points at one the module declares, and the original's known
// faults stay fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse, getReferencesInExpression } from '@cdktf/hcl2json';
import { deploy, projectVersion, read, root } from './lib.mjs';

const fixture = JSON.parse(read(path.join(root, 'tests/deploy/fixtures/terraform-module-interface.json')));
const moduleDir = deploy('terraform', 'metadata-service');
const exampleDirs = fs.readdirSync(deploy('terraform', 'examples')).map((d) => deploy('terraform', 'examples', d));

async function parseDir(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  assert.ok(files.length > 0, `no .tf files in ${dir}`);
  const parsed = {};
  for (const file of files) parsed[file] = await parse(file, read(path.join(dir, file)));
  return parsed;
}

// Merges the blocks of every file: blocks[kind][type][name] (resources, data) or blocks[kind][name].
function merge(parsed) {
  const blocks = { variable: {}, output: {}, locals: {}, resource: {}, data: {}, module: {}, provider: {} };
  for (const [file, doc] of Object.entries(parsed)) {
    for (const [kind, body] of Object.entries(doc)) {
      if (kind === 'resource' || kind === 'data') {
        for (const [type, named] of Object.entries(body)) {
          blocks[kind][type] ??= {};
          for (const [name, value] of Object.entries(named)) {
            assert.ok(!blocks[kind][type][name], `${kind} ${type}.${name} declared twice (${file})`);
            blocks[kind][type][name] = value[0];
          }
        }
      } else if (kind === 'locals') {
        for (const entry of body) {
          for (const [name, value] of Object.entries(entry)) {
            assert.ok(!(name in blocks.locals), `local.${name} declared twice (${file})`);
            blocks.locals[name] = value;
          }
        }
      } else if (kind in blocks) {
        for (const [name, value] of Object.entries(body)) {
          assert.ok(!blocks[kind][name], `${kind} ${name} declared twice (${file})`);
          blocks[kind][name] = value[0];
        }
      }
    }
  }
  return blocks;
}

// Every reference in every expression of the parsed files, e.g. "var.x", "aws_lb.this.arn".
async function references(parsed) {
  const found = [];
  const walk = async (node) => {
    if (typeof node === 'string') {
      if (node.includes('${')) {
        for (const ref of await getReferencesInExpression('x.tf', node)) found.push(ref.value);
      }
    } else if (Array.isArray(node)) {
      for (const item of node) await walk(item);
    } else if (node && typeof node === 'object') {
      for (const value of Object.values(node)) await walk(value);
    }
  };
  // Variable types (`list(string)`) are type expressions, not references.
  const withoutTypes = structuredClone(parsed);
  for (const doc of Object.values(withoutTypes)) {
    for (const blocks of Object.values(doc.variable ?? {})) for (const block of blocks) delete block.type;
  }
  await walk(withoutTypes);
  return found;
}

// The iterator names of dynamic blocks (`dynamic "ingress"` -> ingress.key, ingress.value).
function dynamicIterators(node, names = new Set()) {
  if (Array.isArray(node)) node.forEach((item) => dynamicIterators(item, names));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'dynamic') {
        for (const [name, blocks] of Object.entries(value)) {
          names.add(name);
          for (const block of blocks) if (block.iterator) names.add(block.iterator);
        }
      }
      dynamicIterators(value, names);
    }
  }
  return names;
}

const unwrap = (type) => (type ?? '').replace(/^\$\{/, '').replace(/\}$/, '').replace(/\s+/g, '');

const parsedModule = await parseDir(moduleDir);
const mod = merge(parsedModule);
const moduleRefs = await references(parsedModule);

test('inputs: exactly the original module inputs (name, type, default, required), plus optional added ones', () => {
  const declared = mod.variable;
  for (const input of fixture.inputs) {
    const variable = declared[input.name];
    assert.ok(variable, `input ${input.name} missing`);
    assert.equal(unwrap(variable.type), input.type.replace(/\s+/g, ''), `type of ${input.name}`);
    assert.equal(!('default' in variable), input.required, `required-ness of ${input.name}`);
    if (!input.required) assert.deepEqual(variable.default, input.default, `default of ${input.name}`);
    assert.ok(variable.description, `description of ${input.name}`);
  }
  const specNames = new Set(fixture.inputs.map((i) => i.name));
  const added = new Map(fixture.added_inputs.map((i) => [i.name, i]));
  for (const [name, variable] of Object.entries(declared)) {
    if (specNames.has(name)) continue;
    assert.ok(added.has(name), `input ${name} is neither the original's nor in the fixture's added_inputs`);
    assert.ok('default' in variable, `added input ${name} must be optional (have a default)`);
    assert.equal(unwrap(variable.type), added.get(name).type, `type of ${name}`);
    assert.deepEqual(variable.default, added.get(name).default, `default of ${name}`);
  }
  for (const name of added.keys()) assert.ok(declared[name], `added input ${name} missing`);
});

test('outputs: exactly the original module outputs', () => {
  assert.deepEqual(Object.keys(mod.output).sort(), fixture.outputs.map((o) => o.name).sort());
  for (const [name, output] of Object.entries(mod.output)) assert.ok(output.description, `description of ${name}`);
});

test('every var.X used is declared and every declared input is used', () => {
  const used = new Set(moduleRefs.filter((r) => r.startsWith('var.')).map((r) => r.split('.')[1]));
  const declared = new Set(Object.keys(mod.variable));
  assert.deepEqual([...used].filter((v) => !declared.has(v)), [], 'used but not declared');
  assert.deepEqual([...declared].filter((v) => !used.has(v)), [], 'declared but never used');
});

test('every local.X used is declared and every resource/data reference points at the module', () => {
  const locals = new Set(Object.keys(mod.locals));
  const problems = [];
  const skip = new Set(['var', 'path', 'terraform', 'count', 'each', 'self', 'module', ...dynamicIterators(parsedModule)]);
  for (const ref of moduleRefs) {
    const parts = ref.split('.');
    if (parts[0] === 'local') {
      if (!locals.has(parts[1])) problems.push(`${ref}: no such local`);
    } else if (parts[0] === 'data') {
      if (!mod.data[parts[1]]?.[parts[2]]) problems.push(`${ref}: no such data source`);
    } else if (!skip.has(parts[0])) {
      if (parts.length < 2 || !mod.resource[parts[0]]?.[parts[1].replace(/\[.*$/, '')]) problems.push(`${ref}: no such resource`);
    }
  }
  assert.deepEqual(problems, []);
});

test('it creates what the original module creates', () => {
  const expected = [
    'aws_ecs_cluster', 'aws_ecs_task_definition', 'aws_ecs_service', 'aws_lb', 'aws_lb_target_group',
    'aws_lb_listener', 'aws_api_gateway_rest_api', 'aws_api_gateway_vpc_link', 'aws_api_gateway_resource',
    'aws_api_gateway_method', 'aws_api_gateway_integration', 'aws_api_gateway_deployment', 'aws_api_gateway_stage',
    'aws_api_gateway_api_key', 'aws_api_gateway_usage_plan', 'aws_api_gateway_usage_plan_key',
    'aws_api_gateway_rest_api_policy', 'aws_security_group', 'aws_iam_role', 'aws_lambda_function',
    'aws_cloudwatch_log_group', 'aws_secretsmanager_secret',
  ];
  assert.deepEqual(expected.filter((type) => !mod.resource[type]), []);
  // Ports: NLB 80 -> 8080 (API) and 8082 -> 8082 (migrations), one target group and listener each.
  assert.equal(mod.locals.api_port, 8080);
  assert.equal(mod.locals.migration_port, 8082);
  const ports = mod.locals.nlb_ports;
  assert.deepEqual(ports.api, { container_port: '${local.api_port}', listener_port: 80, target_group: ports.api.target_group });
  assert.deepEqual(ports.migration, { container_port: '${local.migration_port}', listener_port: '${local.migration_port}', target_group: ports.migration.target_group });
  for (const type of ['aws_lb_target_group', 'aws_lb_listener']) assert.equal(mod.resource[type].this.for_each, '${local.nlb_ports}', `${type} per port`);
  const service = mod.resource.aws_ecs_service.this;
  assert.equal(service.dynamic.load_balancer[0].for_each, '${local.nlb_ports}', 'the service is in both target groups');
  assert.equal(service.desired_count, '${var.metadata_service_desired_count}');
  // The gateway: {proxy+} ANY to the API, GET /db_schema_status to the migration API, keys.
  const routes = mod.locals.gateway_routes;
  assert.deepEqual(routes.proxy, { path_part: '{proxy+}', http_method: 'ANY', uri: 'http://${aws_lb.this.dns_name}/{proxy}' });
  assert.deepEqual(routes.db_schema_status, { path_part: 'db_schema_status', http_method: 'GET', uri: '${local.migration_url}/db_schema_status' });
  for (const type of ['aws_api_gateway_resource', 'aws_api_gateway_method', 'aws_api_gateway_integration']) {
    assert.equal(mod.resource[type].this.for_each, '${local.enabled_gateway_routes}', `${type} per route`);
  }
  assert.equal(mod.locals.migration_url, 'http://${aws_lb.this.dns_name}:${local.migration_port}');
  assert.equal(mod.resource.aws_api_gateway_method.this.api_key_required, '${var.enable_api_basic_auth}');
  assert.equal(mod.resource.aws_api_gateway_integration.this.connection_type, 'VPC_LINK');
  assert.match(mod.locals.with_source_ip_policy, /length\(var\.access_list_cidr_blocks\) > 0/);
  assert.equal(mod.resource.aws_api_gateway_rest_api_policy.this.count, "${local.with_source_ip_policy ? 1 : 0}");
  assert.equal(mod.resource.aws_lb.this.internal, true, 'the NLB is internal');
  assert.equal(mod.resource.aws_api_gateway_stage.api.stage_name, 'api');
  const containers = mod.resource.aws_ecs_task_definition.this.container_definitions;
  for (const port of ['api_port', 'migration_port']) assert.match(containers, new RegExp(`containerPort\\s*=\\s*local\\.${port}`));
});

test('the DB-migration function: a Python file of the module, zipped with the archive provider', () => {
  const archive = mod.data.archive_file?.db_migrate;
  assert.ok(archive, 'data "archive_file" "db_migrate"');
  assert.match(archive.source_file, /\$\{path\.module\}\/lambda\/db_migrate\.py/);
  const source = read(path.join(moduleDir, 'lambda', 'db_migrate.py'));
  const lambda = mod.resource.aws_lambda_function.db_migrate;
  const [file, fn] = lambda.handler.split('.');
  assert.equal(file, 'db_migrate');
  assert.match(source, new RegExp(`^def ${fn}\\(event, context\\):`, 'm'));
  assert.match(source, /"GET", "\/db_schema_status"[\s\S]*"PATCH", "\/upgrade"[\s\S]*status\(\)/);
  assert.ok(lambda.vpc_config, 'the function runs in the VPC');
});

test("the original's known faults stay fixed", () => {
  // The image: an empty input falls back to a real image.
  assert.match(mod.locals.container_image, /var\.metadata_service_container_image != "" \?/);
  assert.match(mod.locals.default_container_image, /^[\w.-]+(\/[\w.-]+)+:[\w.-]+$/);
  // is_gov is used (the gateway endpoint type).
  assert.ok(moduleRefs.includes('var.is_gov'));
  assert.match(mod.resource.aws_api_gateway_rest_api.this.endpoint_configuration[0].types[0], /local\.is_gov \? "REGIONAL" : "EDGE"/);
  // Every log group expires.
  for (const [name, group] of Object.entries(mod.resource.aws_cloudwatch_log_group)) {
    assert.equal(group.retention_in_days, '${var.log_retention_in_days}', `retention of log group ${name}`);
  }
  // The password is a secret, not environment.
  const containers = mod.resource.aws_ecs_task_definition.this.container_definitions;
  const environment = containers.split('secrets')[0];
  assert.doesNotMatch(environment, /database_password|MF_METADATA_DB_PSWD/, 'the password is not in the environment');
  assert.match(containers, /name\s*=\s*"MF_METADATA_DB_PSWD",\s*valueFrom\s*=\s*aws_secretsmanager_secret\.database_password\.arn/);
  // The migration target group checks its own port: every group checks the port it forwards to.
  const check = mod.resource.aws_lb_target_group.this.health_check[0];
  assert.equal(check.port, 'traffic-port', 'target groups health-check their own port');
  assert.equal(mod.resource.aws_lb_target_group.this.port, '${each.value.container_port}');
});

test('the container gets the environment the service reads (MF_METADATA_DB_*, MF_MIGRATION_PORT), from the inputs', () => {
  const containers = mod.resource.aws_ecs_task_definition.this.container_definitions;
  const names = [...containers.matchAll(/name\s*=\s*"(MF_[A-Z_]+)"/g)].map((m) => m[1]);
  for (const name of ['MF_METADATA_DB_HOST', 'MF_METADATA_DB_PORT', 'MF_METADATA_DB_USER', 'MF_METADATA_DB_PSWD',
    'MF_METADATA_DB_NAME', 'MF_METADATA_DB_SSL_MODE', 'MF_MIGRATION_PORT']) assert.ok(names.includes(name), name);
  assert.doesNotMatch(containers.replace(/healthCheck\s*=\s*\{[^}]*\}/, ""), /\bcommand\s*=/, 'the task sets no command: the image default serves both ports');
});

for (const dir of exampleDirs) {
  test(`example ${path.basename(dir)}: passes every required input of the module, and only known ones`, async () => {
    const example = merge(await parseDir(dir));
    const calls = Object.values(example.module).filter((m) => /metadata-service\/?$/.test(m.source));
    assert.equal(calls.length, 1, 'one module call with source ../../metadata-service');
    const args = new Set(Object.keys(calls[0]).filter((k) => !['source', 'version', 'providers', 'depends_on'].includes(k)));
    const required = fixture.inputs.filter((i) => i.required).map((i) => i.name);
    assert.deepEqual(required.filter((n) => !args.has(n)), [], 'required inputs not passed');
    assert.deepEqual([...args].filter((n) => !(n in mod.variable)), [], 'arguments the module does not have');
    const outputsUsed = new Set((await references(example)).filter((r) => r.startsWith('module.')).map((r) => r.split('.')[2]));
    assert.deepEqual([...outputsUsed].filter((o) => !(o in mod.output)), [], 'outputs the module does not have');
  });
}

test("the module README's tables (terraform-docs layout) are those of the .tf files", async () => {
  const docs = await import('./terraform-docs.mjs');
  assert.equal(docs.currentTables(), await docs.tables(), 'stale: run node tests/deploy/terraform-docs.mjs --write');
});

test("the module's default image is the project's version", () => {
  assert.equal(mod.locals.default_container_image.split(':').at(-1), projectVersion);
});
