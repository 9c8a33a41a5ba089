import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from './doc-runner';

/**
 * A new user's checkout: the repository's files as they stand, tracked or about to be (not ignored), without
 * node_modules, dist or a .env. In CI, a clean clone, this is exactly what was committed. Docs whose commands write
 * into the checkout (`cp .env.example .env`) run here, never in the working tree.
 */
export function freshCheckout(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  for (const file of listed.split('\0').filter(Boolean)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    try {
      copyFileSync(path.join(REPO, file), path.join(dir, file));
    } catch {
      // deleted in the working tree but not yet in the index: a new user would not have it either
    }
  }
  return dir;
}

/** Whether nothing listens on `port`: docs name fixed ports, which must be free for their commands to work. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}
