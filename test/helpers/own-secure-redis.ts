import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import type { TestPki } from './test-ca';
import { waitFor } from './wait';

export interface SecureRedisOptions {
  /** Serve TLS only (no plain-text port), with this PKI's server certificate, and require a client certificate. */
  pki?: TestPki;
  /** Load users from this ACL file (`--aclfile`). */
  aclFile?: string;
}

/**
 * A redis-server process of the test's own on a free 127.0.0.1 port, with TLS and/or an ACL file: never the
 * shared Redis, whose configuration tests must not change. Stopped by its pid.
 */
export class SecureRedis {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly tls: boolean,
  ) {}

  static async start(options: SecureRedisOptions): Promise<SecureRedis> {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'warren-secure-redis-'));
    const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
    if (options.pki) {
      const { pki } = options;
      args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', pki.server.cert, '--tls-key-file', pki.server.key);
      args.push('--tls-ca-cert-file', pki.ca, '--tls-auth-clients', 'yes');
    } else {
      args.push('--port', String(port));
    }
    if (options.aclFile) args.push('--aclfile', options.aclFile);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    const redis = new SecureRedis(port, child, dir, Boolean(options.pki));
    await waitFor(
      `redis-server on ${port}`,
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => (socket.destroy(), resolve(true)));
          socket.once('error', () => resolve(undefined));
        }),
      10_000,
      50,
    );
    return redis;
  }

  /** `redis[s]://[user:password@]127.0.0.1:<port>` */
  url(user?: string, password?: string): string {
    const auth = user ? `${encodeURIComponent(user)}:${encodeURIComponent(password ?? '')}@` : '';
    return `${this.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${this.port}`;
  }

  async destroy(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
