#!/usr/bin/env node
// Renders a Redis ACL file from acl.template.json (generated from workers/registry.ts): each user's
// `password_env` names the environment variable holding its password, written as its SHA-256 (`#<hex>`), so no
// plaintext password reaches the file. Key patterns are prefixed with REDIS_KEY_PREFIX (default `warren:`).
//
// Usage: node render-acl.mjs <acl.template.json> <users.acl | ->
// Compose runs it as a one-shot before Redis boots (`redis-server --aclfile`); test/deploy/redis-acl.test.ts too.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
/** ACL key patterns are globs: a prefix's own glob characters must match themselves. */
const globEscape = (text) => text.replace(/[*?[\]\\]/g, '\\$&');

function passwordOf(env, variable, user) {
  const password = env[variable];
  if (!password) throw new Error(`${variable} is not set (password of Redis user ${user})`);
  return `#${sha256(password)}`;
}

/** The ACL file's lines: the operator with every right, then one user per service with its keys and commands only. */
export function renderAcl(template, env) {
  const prefix = env.REDIS_KEY_PREFIX ?? 'warren:';
  if (/\s/.test(prefix)) throw new Error('REDIS_KEY_PREFIX must not contain whitespace (one ACL rule per word)');
  const { admin } = template;
  const lines = [`user ${admin.name} on ${passwordOf(env, admin.password_env, admin.name)} ~* &* +@all`];
  for (const user of template.users) {
    const keys = user.keys.map((pattern) => `~${globEscape(prefix)}${pattern}`);
    const commands = template.commands.map((command) => `+${command}`);
    lines.push(
      [
        'user',
        user.name,
        'on',
        passwordOf(env, user.password_env, user.name),
        'resetkeys',
        ...keys,
        'resetchannels',
        '-@all',
        ...commands,
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}

function main([templatePath, outPath]) {
  if (!templatePath || !outPath) {
    process.stderr.write('usage: render-acl.mjs <acl.template.json> <users.acl | ->\n');
    process.exit(2);
  }
  let rendered;
  try {
    rendered = renderAcl(JSON.parse(readFileSync(templatePath, 'utf8')), process.env);
  } catch (error) {
    process.stderr.write(`render-acl: ${error.message}\n`);
    process.exit(1);
  }
  if (outPath === '-') {
    process.stdout.write(rendered);
    return;
  }
  // Hashes only, so world-readable is fine: Redis reads the file as its own user.
  writeFileSync(`${outPath}.tmp`, rendered, { mode: 0o644 });
  renameSync(`${outPath}.tmp`, outPath);
  process.stdout.write(`render-acl: wrote ${outPath} (${rendered.split('\n').length - 1} users)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
