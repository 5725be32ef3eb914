// Writes (with --write) or prints the tables of deploy/terraform/metadata-service/README.md
// between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->, in terraform-docs' markdown table
// layout, from the module's .tf files. terraform.test.mjs checks that the README is current:
//   node tests/deploy/terraform-docs.mjs --write
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const moduleDir = path.join(root, 'deploy', 'terraform', 'metadata-service');
export const readmePath = path.join(moduleDir, 'README.md');
const BEGIN = '<!-- BEGIN_TF_DOCS -->';
const END = '<!-- END_TF_DOCS -->';

const unwrap = (text) => String(text).replace(/^\$\{/, '').replace(/\}$/, '');
const escape = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const anchor = (kind, name) => `<a name="${kind}_${name}"></a> [${name}](#${kind}\\_${name.replace(/_/g, '\\_')})`;
const docsUrl = (kind, type) => `https://registry.terraform.io/providers/hashicorp/${type.split('_')[0]}/latest/docs/${kind === 'data' ? 'data-sources' : 'resources'}/${type.split('_').slice(1).join('_')}`;

export async function tables() {
  const docs = [];
  for (const file of fs.readdirSync(moduleDir).filter((f) => f.endsWith('.tf')).sort()) {
    docs.push(await parse(file, fs.readFileSync(path.join(moduleDir, file), 'utf8')));
  }
  const all = (kind) => docs.flatMap((d) => Object.entries(d[kind] ?? {}));
  const terraform = docs.flatMap((d) => d.terraform ?? []);
  const requiredVersion = terraform.find((t) => t.required_version)?.required_version;
  const providers = Object.entries(Object.assign({}, ...terraform.flatMap((t) => t.required_providers ?? [])));

  const lines = [BEGIN, '## Requirements', '', '| Name | Version |', '|------|---------|'];
  lines.push(`| ${anchor('requirement', 'terraform')} | ${requiredVersion} |`);
  for (const [name, p] of providers) lines.push(`| ${anchor('requirement', name)} | ${p.version} |`);
  lines.push('', '## Providers', '', '| Name | Version |', '|------|---------|');
  for (const [name, p] of providers) lines.push(`| ${anchor('provider', name)} | ${p.version} |`);
  lines.push('', '## Modules', '', 'No modules.', '', '## Resources', '', '| Name | Type |', '|------|------|');
  const resources = [];
  for (const kind of ['resource', 'data']) {
    for (const [type, named] of all(kind)) {
      for (const name of Object.keys(named)) {
        const label = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
        resources.push([`${type}.${name}`, `| [${label}](${docsUrl(kind, type)}) | ${kind === 'data' ? 'data source' : 'resource'} |`]);
      }
    }
  }
  resources.sort((a, b) => a[0].localeCompare(b[0], 'en')).forEach(([, row]) => lines.push(row));
  lines.push('', '## Inputs', '', '| Name | Description | Type | Default | Required |', '|------|-------------|------|---------|:--------:|');
  for (const [name, [v]] of all('variable').sort((a, b) => a[0].localeCompare(b[0], 'en'))) {
    const hasDefault = 'default' in v;
    const def = hasDefault ? `\`${JSON.stringify(v.default)}\`` : 'n/a';
    lines.push(`| ${anchor('input', name)} | ${escape(v.description)} | \`${unwrap(v.type)}\` | ${def} | ${hasDefault ? 'no' : 'yes'} |`);
  }
  lines.push('', '## Outputs', '', '| Name | Description |', '|------|-------------|');
  for (const [name, [o]] of all('output').sort((a, b) => a[0].localeCompare(b[0], 'en'))) {
    lines.push(`| ${anchor('output', name)} | ${escape(o.description)} |`);
  }
  lines.push(END);
  return lines.join('\n');
}

export function currentTables() {
  const text = fs.readFileSync(readmePath, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`${readmePath} has no ${BEGIN} ... ${END} section`);
  return text.slice(start, end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const generated = await tables();
  if (process.argv.includes('--write')) {
    fs.writeFileSync(readmePath, fs.readFileSync(readmePath, 'utf8').replace(currentTables(), () => generated));
  } else {
    process.stdout.write(`${generated}\n`);
  }
}
