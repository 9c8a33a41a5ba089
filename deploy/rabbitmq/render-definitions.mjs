#!/usr/bin/env node
// Renders RabbitMQ definitions from definitions.template.json: each user's `password_env` names the environment
// variable holding its password, which is replaced by a salted SHA-256 `password_hash` (RabbitMQ's
// rabbit_password_hashing_sha256), so no plaintext password is written to disk and none is committed.
//
// Usage: node render-definitions.mjs <template.json> <out.json | ->
// Compose runs it as a one-shot service before RabbitMQ boots; the deploy tests run it too.
//
//        printf '%s' "$PASSWORD" | node render-definitions.mjs --hash
// prints one password's hash, for the chart's rabbitmqCluster.passwordHashes (docs/deploy.md). The password comes
// on stdin, never as an argument, which any user of the machine can read in `ps` and the shell keeps in its history.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** RabbitMQ's internal password hash: base64(salt ++ sha256(salt ++ utf8(password))) with a 4-byte salt. */
export function rabbitPasswordHash(password, salt = randomBytes(4)) {
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** Returns the definitions with every `password_env` replaced by a hash of that variable's value. */
export function renderDefinitions(template, env) {
  const users = (template.users ?? []).map(({ password_env: variable, ...user }) => {
    if (!variable) throw new Error(`user ${user.name}: password_env is missing`);
    const password = env[variable];
    if (!password) throw new Error(`${variable} is not set (password of RabbitMQ user ${user.name})`);
    return { ...user, password_hash: rabbitPasswordHash(password), hashing_algorithm: 'rabbit_password_hashing_sha256' };
  });
  return { ...template, users };
}

/** The password on stdin (one trailing newline dropped, as `echo` adds one), hashed, on stdout. */
function printHash(extra) {
  if (extra.length > 0) {
    process.stderr.write('render-definitions: --hash reads the password from stdin, not from arguments\n');
    process.exit(2);
  }
  const password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!password) {
    process.stderr.write('render-definitions: --hash: no password on stdin\n');
    process.exit(1);
  }
  process.stdout.write(`${rabbitPasswordHash(password)}\n`);
}

function main([templatePath, outPath, ...extra]) {
  if (templatePath === '--hash') return printHash([outPath, ...extra].filter((a) => a !== undefined));
  if (!templatePath || !outPath) {
    process.stderr.write('usage: render-definitions.mjs <template.json> <out.json | ->\n       render-definitions.mjs --hash < password\n');
    process.exit(2);
  }
  let rendered;
  try {
    rendered = `${JSON.stringify(renderDefinitions(JSON.parse(readFileSync(templatePath, 'utf8')), process.env), null, 2)}\n`;
  } catch (error) {
    process.stderr.write(`render-definitions: ${error.message}\n`);
    process.exit(1);
  }
  if (outPath === '-') {
    process.stdout.write(rendered);
    return;
  }
  // Hashes only, so world-readable is fine: the broker reads the file as its own user.
  writeFileSync(`${outPath}.tmp`, rendered, { mode: 0o644 });
  renameSync(`${outPath}.tmp`, outPath);
  process.stdout.write(`render-definitions: wrote ${outPath} (${rendered.length} bytes, ${JSON.parse(rendered).users.length} users)\n`);
}

// Node runs a module by its real path: compare with the script's, so a run through a symlinked directory counts.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) main(process.argv.slice(2));
