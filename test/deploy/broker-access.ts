import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { BASE_AMQP_URL, rabbitmqctl } from '../helpers/broker';
import { waitFor } from '../helpers/wait';
import { REPO } from './tools';

const run = promisify(execFile);

export interface Definitions {
  users: { name: string; password_env?: string; password?: string; tags: string[] }[];
  vhosts: { name: string }[];
  permissions: { user: string; vhost: string }[];
  topic_permissions: { user: string; vhost: string }[];
  /** The events exchange: from RabbitMQ 4.3 a topic permission on a missing exchange fails the import. */
  exchanges?: { name: string; vhost: string }[];
}

/** An imported copy of Warren's definitions under unique names, so tests never touch a real `warren` vhost. */
export interface ImportedDefinitions {
  vhost: string;
  /** Test user name of each definitions user (`warren-order` -> `<id>-order`). */
  users: Record<string, string>;
  passwords: Record<string, string>;
  url(definitionsUser: string, password?: string): string;
}

/** Renames the vhost `warren` and every `warren-*` user to `<id>` and `<id>-*`, keeping the permissions as they are. */
export function renameDefinitions<T extends Definitions>(definitions: T, id: string): T {
  const user = (name: string) => name.replace(/^warren-/, `${id}-`);
  const vhost = (name: string) => (name === 'warren' ? id : name);
  return {
    ...definitions,
    users: definitions.users.map((u) => ({ ...u, name: user(u.name) })),
    vhosts: definitions.vhosts.map((v) => ({ ...v, name: vhost(v.name) })),
    permissions: definitions.permissions.map((p) => ({ ...p, user: user(p.user), vhost: vhost(p.vhost) })),
    topic_permissions: definitions.topic_permissions.map((p) => ({ ...p, user: user(p.user), vhost: vhost(p.vhost) })),
    exchanges: (definitions.exchanges ?? []).map((e) => ({ ...e, vhost: vhost(e.vhost) })),
  };
}

/** The committed template (generated from workers/registry.ts), what compose's one-shot renders and the chart loads. */
export const TEMPLATE_PATH = 'deploy/helm/warren/files/rabbitmq/definitions.template.json';

export function readTemplate(): Definitions {
  return JSON.parse(readFileSync(path.join(REPO, TEMPLATE_PATH), 'utf8')) as Definitions;
}

export interface DefinitionsToImport {
  definitions: Definitions;
  /** The unique prefix the definitions were renamed with. */
  id: string;
  /** Password of each definitions user (`warren-order`, ...). */
  passwords: Record<string, string>;
}

/**
 * Imports several renamed definitions into the local broker in one `rabbitmqctl import_definitions` (each call
 * starts an Erlang VM: seconds on a busy machine) and waits until every user can log in (the import is
 * asynchronous).
 */
export async function importDefinitions(batch: readonly DefinitionsToImport[]): Promise<ImportedDefinitions[]> {
  const imported = batch.map(({ definitions, id, passwords }) => describeImport(definitions, id, passwords));
  const merged: Required<Definitions> = { users: [], vhosts: [], permissions: [], topic_permissions: [], exchanges: [] };
  for (const { definitions } of batch) {
    merged.users.push(...definitions.users);
    merged.vhosts.push(...definitions.vhosts);
    merged.permissions.push(...definitions.permissions);
    merged.topic_permissions.push(...definitions.topic_permissions);
    merged.exchanges.push(...(definitions.exchanges ?? []));
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-definitions-'));
  // rabbitmqctl reads the file as the broker's user, not as root.
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'definitions.json');
  writeFileSync(file, JSON.stringify(merged), { mode: 0o644 });
  try {
    await rabbitmqctl('import_definitions', file);
    for (const one of imported) {
      for (const user of Object.keys(one.users)) {
        await waitFor(
          `${one.users[user]} able to log in`,
          async () => {
            const connection = await amqplib.connect(one.url(user));
            await connection.close();
            return true;
          },
          20_000,
          100,
        );
      }
    }
  } catch (error) {
    await removeDefinitions(imported);
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return imported;
}

function describeImport(definitions: Definitions, id: string, passwords: Record<string, string>): ImportedDefinitions {
  const vhost = definitions.vhosts[0]!.name;
  const users = Object.fromEntries(definitions.users.map((u) => [u.name.replace(`${id}-`, 'warren-'), u.name]));
  return {
    vhost,
    users,
    passwords,
    url(definitionsUser, password = passwords[definitionsUser]) {
      const url = new URL(BASE_AMQP_URL);
      url.username = encodeURIComponent(users[definitionsUser] ?? definitionsUser);
      url.password = encodeURIComponent(password ?? '');
      url.pathname = `/${encodeURIComponent(vhost)}`;
      return url.toString();
    },
  };
}

/**
 * Deletes the imported users and vhosts. One `rabbitmqctl eval` does it all (one Erlang VM instead of one per
 * object); should that internal API ever change, it falls back to one rabbitmqctl call per object.
 */
export async function removeDefinitions(imported: readonly (ImportedDefinitions | undefined)[]): Promise<void> {
  const present = imported.filter((i): i is ImportedDefinitions => i !== undefined);
  const users = present.flatMap((i) => Object.values(i.users));
  const vhosts = present.map((i) => i.vhost);
  if (users.length === 0 && vhosts.length === 0) return;
  const binaries = (names: string[]) => names.map((n) => `<<"${n.replace(/[^A-Za-z0-9._-]/g, '')}">>`).join(', ');
  const expression =
    `[catch rabbit_auth_backend_internal:delete_user(U, <<"warren-tests">>) || U <- [${binaries(users)}]], ` +
    `[catch rabbit_vhost:delete(V, <<"warren-tests">>) || V <- [${binaries(vhosts)}]], ok.`;
  await rabbitmqctl('eval', expression).catch(async () => {
    await Promise.all(
      [...users.map((u) => rabbitmqctl('delete_user', u)), ...vhosts.map((v) => rabbitmqctl('delete_vhost', v))].map((p) =>
        p.catch(() => undefined),
      ),
    );
  });
}

/** Runs deploy/rabbitmq/render-definitions.mjs (what compose runs) on a template with the given env. */
export async function renderWithScript(template: Definitions, env: Record<string, string>): Promise<Definitions> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-template-'));
  try {
    const input = path.join(dir, 'template.json');
    writeFileSync(input, JSON.stringify(template));
    const { stdout } = await run(process.execPath, [path.join(REPO, 'deploy/rabbitmq/render-definitions.mjs'), input, '-'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    return JSON.parse(stdout) as Definitions;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Operation = (channel: amqplib.ConfirmChannel) => Promise<unknown>;

/** Runs an operation on a fresh confirm channel; publishes count as done once confirmed. */
export async function allowed(connection: amqplib.ChannelModel, operation: Operation): Promise<void> {
  const channel = await connection.createConfirmChannel();
  let channelError: Error | undefined;
  channel.on('error', (error: Error) => (channelError = error));
  try {
    await operation(channel);
    await channel.waitForConfirms();
  } catch (error) {
    throw new Error(`refused: ${(channelError ?? (error as Error)).message}`, { cause: error });
  }
  await channel.close();
}

/**
 * Runs an operation the broker must refuse: resolves with the channel error (code 403, ACCESS_REFUSED), throws
 * when the operation goes through. Publishes are refused asynchronously, so they are awaited via confirms.
 */
export async function refusal(connection: amqplib.ChannelModel, operation: Operation): Promise<{ code: number; message: string }> {
  const channel = await connection.createConfirmChannel();
  const closed = new Promise<{ code: number; message: string }>((resolve) =>
    channel.once('error', (error: { code: number; message: string }) => resolve(error)),
  );
  const outcome = await operation(channel)
    .then(() => channel.waitForConfirms())
    .then(
      () => 'allowed' as const,
      () => 'rejected' as const,
    );
  if (outcome === 'allowed') {
    await channel.close().catch(() => undefined);
    throw new Error('the broker allowed it');
  }
  return Promise.race([
    closed,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('rejected without a channel error')), 5000)),
  ]);
}

/** Publishes one message with mandatory=false and no properties that matter to permissions. */
export async function publish(channel: amqplib.ConfirmChannel, exchange: string, routingKey: string): Promise<void> {
  channel.publish(exchange, routingKey, Buffer.from('{"permissionProbe":true}'), { persistent: true, contentType: 'application/json' });
}
