import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const openssl = (dir: string, ...args: string[]) => run('openssl', args, { cwd: dir, timeout: 30_000 });

/** PEM files of one certificate authority and the certificates it issued, in a temp dir of the test's own. */
export interface TestPki {
  dir: string;
  /** Paths: the CA's certificate; `server` (localhost, 127.0.0.1) and `client` certificate and key pairs. */
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  destroy(): void;
}

/**
 * A fresh CA made with openssl, a server certificate for localhost/127.0.0.1 and a client certificate, both signed
 * by it (P-256 keys: quick to make). Files are world-readable so a container's server user can read them.
 */
export async function makeTestPki(name = 'warren-test'): Promise<TestPki> {
  const dir = mkdtempSync(path.join(tmpdir(), `${name}-pki-`));
  chmodSync(dir, 0o755);
  const key = (file: string) => openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file);
  await key('ca.key');
  await openssl(dir, 'req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', `/CN=${name} CA`, '-out', 'ca.crt');
  const issue = async (who: 'server' | 'client', extensions: string) => {
    await key(`${who}.key`);
    await openssl(dir, 'req', '-new', '-key', `${who}.key`, '-subj', `/CN=${name} ${who}`, '-out', `${who}.csr`);
    writeFileSync(path.join(dir, `${who}.ext`), extensions);
    await openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      `${who}.ext`,
      '-out',
      `${who}.crt`,
    );
  };
  await issue('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue('client', 'extendedKeyUsage=clientAuth\n');
  for (const file of readdirSync(dir)) chmodSync(path.join(dir, file), 0o644);
  const at = (file: string) => path.join(dir, file);
  return {
    dir,
    ca: at('ca.crt'),
    server: { cert: at('server.crt'), key: at('server.key') },
    client: { cert: at('client.crt'), key: at('client.key') },
    destroy: () => rmSync(dir, { recursive: true, force: true }),
  };
}
