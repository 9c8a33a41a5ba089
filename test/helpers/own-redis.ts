import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';
import { waitFor } from './wait';

const run = promisify(execFile);

/**
 * A Redis server of the test's own, with AOF persistence in a temp dir, so a test can take it away and bring it
 * back with its data without disturbing anything else on the shared Redis.
 */
export class OwnRedis {
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), mkdtempSync(path.join(tmpdir(), 'warren-redis-')));
    await redis.up();
    return redis;
  }

  /** Starts the server on its port and data; `timeoutMs`: how long it may take to load its AOF and answer. */
  async up(timeoutMs = 10_000): Promise<void> {
    spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--daemonize',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('redis up', async () => (await this.cli('ping')).trim() === 'PONG' || undefined, timeoutMs, 50);
  }

  /** Shuts the server down (the AOF keeps the data for the next `up()`). */
  async down(): Promise<void> {
    await this.cli('shutdown').catch(() => undefined);
    await waitFor(
      'redis down',
      async () =>
        (await this.cli('ping').then(
          () => false,
          () => true,
        )) || undefined,
      10_000,
      50,
    );
  }

  async destroy(): Promise<void> {
    await this.cli('shutdown', 'nosave').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async cli(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), ...args], { timeout: 5000 });
    if (/Could not connect|Connection refused/.test(stdout)) throw new Error(stdout);
    return stdout;
  }
}
