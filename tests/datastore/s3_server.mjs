// A real S3-compatible server on loopback for the datastore tests: @20minutes/s3rver, which
// checks SigV4 signatures, behind a front that refuses unsigned requests (s3rver alone
// serves them anonymously). On a second port it hands out the key pair as the credential
// chain's sources do, so the chain can be tried on it: ECS-style container credentials
// (/credentials, as the agent at AWS_CONTAINER_CREDENTIALS_FULL_URI), STS's
// AssumeRoleWithWebIdentity (POST /sts/, for one web identity token and role), and EC2
// instance metadata, IMDSv2 only (PUT /latest/api/token, then the role's credentials with
// that session token).
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
const expiration = () => new Date(Date.now() + 1000 * Number(options['token-expires-in'] ?? 3600))
  .toISOString().replace(/\.\d+Z$/, 'Z');
const STS_TOKEN = 'test-web-identity-token';
const STS_ROLE = 'arn:aws:iam::123456789012:role/metaflow-ui';
const IMDS_TOKEN = 'test-imds-session';
const IMDS_ROLE = 'metaflow-ui-role';

function assumeRoleWithWebIdentity(body, response) {
  const form = new URLSearchParams(body);
  if (form.get('Action') !== 'AssumeRoleWithWebIdentity' || form.get('RoleArn') !== STS_ROLE ||
      form.get('WebIdentityToken') !== STS_TOKEN || !form.get('RoleSessionName')) {
    response.writeHead(400, { 'Content-Type': 'text/xml' });
    response.end('<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>' +
      '<Message>the token or role is not the expected one</Message></Error></ErrorResponse>');
    return;
  }
  handedOut += 1;
  response.writeHead(200, { 'Content-Type': 'text/xml' });
  response.end('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
    '<AssumeRoleWithWebIdentityResult><Credentials>' +
    `<AccessKeyId>${options['key-id']}</AccessKeyId><SecretAccessKey>${options.secret}</SecretAccessKey>` +
    `<SessionToken>web-identity-session-token</SessionToken><Expiration>${expiration()}</Expiration>` +
    '</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>');
}

function instanceMetadata(request, response) {
  if (request.method === 'PUT' && request.url === '/latest/api/token' &&
      request.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
    response.end(IMDS_TOKEN);
    return;
  }
  if (request.method !== 'GET' || request.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) {
    response.writeHead(401);
    response.end();
    return;
  }
  const base = '/latest/meta-data/iam/security-credentials/';
  if (request.url === base) {
    response.end(IMDS_ROLE);
    return;
  }
  if (request.url !== base + IMDS_ROLE) {
    response.writeHead(404);
    response.end();
    return;
  }
  handedOut += 1;
  response.writeHead(200, { 'Content-Type': 'text/plain' });
  response.end(JSON.stringify({
    Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: options['key-id'], SecretAccessKey: options.secret,
    Token: 'instance-session-token', Expiration: expiration(),
  }));
}

const credentials = http.createServer((request, response) => {
  if (request.url === '/count') {
    response.end(String(handedOut));
    return;
  }
  if (request.url.startsWith('/sts')) {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => assumeRoleWithWebIdentity(body, response));
    return;
  }
  if (request.url.startsWith('/latest/')) {
    instanceMetadata(request, response);
    return;
  }
  if (request.headers.authorization !== 'test-container-token') {
    response.writeHead(401);
    response.end('{"message": "missing or wrong Authorization"}');
    return;
  }
  handedOut += 1;
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify({
    AccessKeyId: options['key-id'],
    SecretAccessKey: options.secret,
    Token: 'container-session-token',
    Expiration: expiration(),
  }));
});

const listen = (server, port) => new Promise((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
await listen(front, options.port);
await listen(credentials, options['credentials-port']);
console.log('ready');
process.on('SIGTERM', () => process.exit(0));
