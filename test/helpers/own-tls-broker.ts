import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { RABBITMQ4_IMAGE } from './own-broker';
import type { TestPki } from './test-ca';
import { waitFor } from './wait';

const run = promisify(execFile);
const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { timeout: 120_000 })).stdout.trim();

/** TLS only: no plain-text listener, and a client without a certificate from the CA is refused. */
const TLS_CONF = `listeners.tcp = none
listeners.ssl.default = 5671
ssl_options.cacertfile = /etc/warren-tls/ca.crt
ssl_options.certfile = /etc/warren-tls/server.crt
ssl_options.keyfile = /etc/warren-tls/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
`;

/** A RabbitMQ container of the test's own serving AMQPS only, with a PKI made by the test; removed by `destroy()`. */
export class OwnTlsBroker {
  private constructor(
    readonly container: string,
    readonly port: number,
  ) {}

  /** `amqps://guest:guest@localhost:<port>`: the server certificate names localhost. */
  get url(): string {
    return `amqps://guest:guest@localhost:${this.port}`;
  }

  static async start(pki: TestPki, image = RABBITMQ4_IMAGE): Promise<OwnTlsBroker> {
    const container = `warren-test-rabbitmq-tls-${randomBytes(4).toString('hex')}`;
    writeFileSync(path.join(pki.dir, '30-tls.conf'), TLS_CONF, { mode: 0o644 });
    await docker(
      'run',
      '-d',
      '--name',
      container,
      '-p',
      '127.0.0.1::5671',
      '-v',
      `${pki.dir}:/etc/warren-tls:ro`,
      '-v',
      `${path.join(pki.dir, '30-tls.conf')}:/etc/rabbitmq/conf.d/30-tls.conf:ro`,
      image,
    );
    try {
      const line = (await docker('port', container, '5671/tcp')).split('\n').find((l) => l.startsWith('127.0.0.1:'));
      if (!line) throw new Error(`${container} publishes 5671 on no 127.0.0.1 port`);
      const broker = new OwnTlsBroker(container, Number(line.split(':')[1]));
      const tls = { ca: readFileSync(pki.ca), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
      await waitFor(
        `RabbitMQ in ${container} answering AMQPS`,
        async () => {
          const connection = await amqplib.connect(broker.url, tls);
          await connection.close();
          return true;
        },
        180_000,
        500,
      );
      return broker;
    } catch (error) {
      await docker('rm', '-f', container).catch(() => undefined);
      throw error;
    }
  }

  /** `rabbitmqctl list_connections name ssl`: each client connection's name and whether it is TLS. */
  async connections(): Promise<{ name: string; ssl: boolean }[]> {
    const out = await docker(
      'exec',
      this.container,
      'rabbitmqctl',
      '-q',
      '--no-table-headers',
      'list_connections',
      'client_properties',
      'ssl',
    );
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => ({ name: /connection_name","?([^"}]+)/.exec(line)?.[1] ?? line, ssl: /\btrue\s*$/.test(line) }));
  }

  async destroy(): Promise<void> {
    await docker('rm', '-f', this.container).catch(() => undefined);
  }
}
