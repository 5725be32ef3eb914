// Sends the Metaflow client's requests of tests/fixtures/reference-trace.jsonl (the stock client
// running linear, branch, foreach, nested foreach, retry, resume, parameter, tag and concurrent
// flows) in order to a service on an empty database, and checks that each answers with the
// recorded status. The conformance replay compares bodies too; this is the end-to-end check of
// a deployed service (scripts/test-container.sh runs it against the image).
//
//   node tests/deploy/replay-client-flows.mjs PORT
//
// With MF_API_KEY set, every request carries it as x-api-key, as the client sends
// METAFLOW_SERVICE_AUTH_KEY.
//
// Heartbeats follow the wall clock here, not the recording's, so a heartbeat may answer 200 or
// 404 (a task whose heartbeat the service already considers stale); every other status must match.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: replay-client-flows.mjs PORT');
  process.exit(2);
}
const trace = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/reference-trace.jsonl');
const exchanges = fs.readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(exchange) {
  const query = new URLSearchParams();
  for (const [key, values] of Object.entries(exchange.query ?? {})) for (const value of values) query.append(key, value);
  const target = exchange.path + (query.size ? `?${query}` : '');
  const body = exchange.request_json === undefined ? undefined : JSON.stringify(exchange.request_json);
  const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (process.env.MF_API_KEY) headers['x-api-key'] = process.env.MF_API_KEY;
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: target, method: exchange.method, headers, agent, timeout: 10000 },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
      });
    request.on('timeout', () => request.destroy(new Error(`timeout on ${exchange.method} ${target}`)));
    request.on('error', reject);
    request.end(body);
  });
}

const mismatches = [];
const flows = new Set();
for (const exchange of exchanges) {
  const status = await send(exchange);
  const heartbeat = exchange.path.endsWith('/heartbeat');
  const expected = heartbeat ? [200, 404] : [exchange.status];
  if (!expected.includes(status)) mismatches.push(`#${exchange.seq} ${exchange.method} ${exchange.path}: ${status}, recorded ${exchange.status}`);
  const flow = exchange.path.match(/^\/flows\/([^/]+)\/runs/);
  if (flow && status === 200) flows.add(flow[1]);
}
agent.destroy();
if (mismatches.length) {
  console.error(`${mismatches.length} of ${exchanges.length} client requests answered otherwise than recorded:`);
  for (const line of mismatches.slice(0, 20)) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`${exchanges.length} client requests of ${flows.size} flows answered as recorded`);
