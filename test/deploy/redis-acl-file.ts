import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './tools';

const TEMPLATE = path.join(REPO, 'deploy/helm/warren/files/redis/acl.template.json');
const RENDER = path.join(REPO, 'deploy/redis/render-acl.mjs');

export interface AclTemplate {
  admin: { name: string; password_env: string };
  users: { name: string; password_env: string; keys: string[] }[];
}

/**
 * The generated Redis ACL template with a fresh password per user (by its `password_env`), and a way to render it
 * with the same script compose runs: what the Redis tests load into a redis-server of their own.
 */
export function aclWithFreshPasswords() {
  const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as AclTemplate;
  const passwords = Object.fromEntries([template.admin, ...template.users].map((u) => [u.password_env, randomBytes(12).toString('hex')]));
  const render = async (aclFile: string) => {
    await promisify(execFile)(process.execPath, [RENDER, TEMPLATE, aclFile], { env: { ...process.env, ...passwords } });
  };
  return { template, passwords, render };
}
