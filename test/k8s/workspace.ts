import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from './cluster';

/** A scratch directory of one run: where the docs' commands run, and what the test writes (passwords, keys). */
export interface Workspace {
  /** The test's own files (mode 0600 where secret). */
  dir: string;
  /**
   * The docs' working directory: the repo's top-level directories and tracked files as symlinks, so
   * `deploy/helm/warren` and any other repo path a command names resolve as in a checkout, while what the commands
   * write (my-values.yaml) lands here, never in the repo nor over a user's file of that name.
   */
  cwd: string;
  /** A directory holding only `kubectl` and `helm`, for the front of the docs' PATH. */
  bin: string;
  destroy(): void;
}

export function makeWorkspace(tools: { kubectl: string; helm: string }): Workspace {
  const root = mkdtempSync(path.join(tmpdir(), 'warren-k8s-'));
  const dir = path.join(root, 'files');
  const cwd = path.join(root, 'checkout');
  const bin = path.join(root, 'bin');
  for (const d of [dir, cwd, bin]) mkdirSync(d, { mode: 0o700 });
  for (const entry of checkoutEntries()) symlinkSync(path.join(REPO, entry), path.join(cwd, entry));
  symlinkSync(tools.kubectl, path.join(bin, 'kubectl'));
  symlinkSync(tools.helm, path.join(bin, 'helm'));
  return { dir, cwd, bin, destroy: () => rmSync(root, { recursive: true, force: true }) };
}

/** The repo's top-level directories (but .git) and the top-level files git tracks. */
function checkoutEntries(): string[] {
  const tracked = new Set<string>();
  try {
    for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(
      '\0',
    ))
      tracked.add(file.split('/')[0]!);
  } catch {
    // Not a git checkout: directories only.
  }
  return readdirSync(REPO).filter((name) => name !== '.git' && (tracked.has(name) || statSync(path.join(REPO, name)).isDirectory()));
}
