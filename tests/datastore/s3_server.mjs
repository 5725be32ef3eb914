// A real S3-compatible server on loopback for the datastore tests: @20minutes/s3rver, which
// checks SigV4 signatures, behind a front that refuses unsigned requests (s3rver alone
// serves them anonymously). It also serves ECS-style container credentials, as the agent
// at AWS_CONTAINER_CREDENTIALS_FULL_URI does, so the credential chain can be tried on it.
//
//   node s3_server.mjs --port P --credentials-port C --dir TMP --seed DIR --bucket B
//        --prefix P --key-id ID --secret S [--token-expires-in SECONDS]
//
// Every file under --seed is stored as <prefix>/<its path>. Prints "ready" once serving.
// GET /count on the credentials port answers how many credentials it handed out.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver');
const S3Object = require('@20minutes/s3rver/lib/models/object');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const options = {};
for (let i = 2; i < process.argv.length; i += 2) {
  options[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

// Only our key pair is valid; s3rver's built-in one is revoked.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(options['key-id'], options.secret);

const s3 = new S3rver({ silent: true, directory: options.dir, configureBuckets: [{ name: options.bucket }] });
await s3.configureBuckets();

async function* files(root) {
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else yield full;
  }
}
for await (const file of files(options.seed)) {
  const key = `${options.prefix}/${path.relative(options.seed, file).split(path.sep).join('/')}`;
  await s3.store.putObject(new S3Object(options.bucket, key, await fs.readFile(file), {}));
}

const handle = s3.callback();
const front = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://localhost');
  if (!request.headers.authorization && !url.searchParams.has('X-Amz-Algorithm')) {
    response.writeHead(403, { 'Content-Type': 'application/xml' });
    response.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
      '<Message>Anonymous access is refused</Message></Error>');
    return;
  }
  handle(request, response);
});

let handedOut = 0;
const credentials = http.createServer((request, response) => {
  if (request.url === '/count') {
    response.end(String(handedOut));
    return;
  }
  if (request.headers.authorization !== 'test-container-token') {
    response.writeHead(401);
    response.end('{"message": "missing or wrong Authorization"}');
    return;
  }
  handedOut += 1;
  const expires = new Date(Date.now() + 1000 * Number(options['token-expires-in'] ?? 3600));
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify({
    AccessKeyId: options['key-id'],
    SecretAccessKey: options.secret,
    Token: 'container-session-token',
    Expiration: expires.toISOString().replace(/\.\d+Z$/, 'Z'),
  }));
});

const listen = (server, port) => new Promise((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
await listen(front, options.port);
await listen(credentials, options['credentials-port']);
console.log('ready');
process.on('SIGTERM', () => process.exit(0));
