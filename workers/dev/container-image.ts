/**
 * Which image a stand-in container runs: the one docker-compose.yml names when Docker has it or can pull it, else a
 * locally built stand-in, so that a machine without a registry still gets a broker.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { LocalServicesError } from './local-services-error';
import type { Kind, ServiceSpec } from './service-specs';

const run = promisify(execFile);

/**
 * docker-compose.yml's image for the service when it is here or can be pulled; else the stand-in that
 * test/docker/standin-images.sh builds for a machine without a registry (compose.standins.yml names the current
 * tag; any other local warren-standin tag of the service will do, newest first).
 */
export async function chooseImage(spec: ServiceSpec, where: string): Promise<string> {
  const root = repoRoot();
  const composeImage = imageIn(path.join(root, 'docker-compose.yml'), spec.kind);
  if (composeImage && ((await hasImage(composeImage)) || (await pulled(composeImage)))) return composeImage;
  const standins = [
    imageIn(path.join(root, 'test/docker/compose.standins.yml'), spec.kind),
    ...(await localTags(`warren-standin/${spec.kind}`)),
  ];
  for (const image of standins) if (image && (await hasImage(image))) return image;
  throw new LocalServicesError(
    `[warren] nothing answered at ${where} and there is no ${spec.label} image to run` +
      `${composeImage ? ` (${composeImage} is not here and cannot be pulled)` : ''}: build the stand-in with \`bash test/docker/standin-images.sh ${spec.kind}\`, or start ${spec.label} there yourself`,
  );
}

/** The checkout this file belongs to: from workers/dev/ (tsx) or dist/workers/dev/ (built), the folder holding package.json. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** The service's image in a compose file; undefined when absent, unreadable or interpolated (`${...}` needs compose). */
function imageIn(file: string, service: Kind): string | undefined {
  try {
    const doc = parseYaml(readFileSync(file, 'utf8')) as { services?: Record<string, { image?: unknown }> } | null;
    const image = doc?.services?.[service]?.image;
    return typeof image === 'string' && !image.includes('$') ? image : undefined;
  } catch {
    return undefined;
  }
}

async function hasImage(image: string): Promise<boolean> {
  return run('docker', ['image', 'inspect', image], { timeout: 15_000 }).then(
    () => true,
    () => false,
  );
}

/** Quietly: one pull per machine, and with no registry it fails in well under a second. */
async function pulled(image: string): Promise<boolean> {
  return run('docker', ['pull', '--quiet', image], { timeout: 300_000 }).then(
    () => true,
    () => false,
  );
}

/** Every local tag of `repository`, newest version first (numeric order, so 4.10 sorts above 4.9). */
async function localTags(repository: string): Promise<string[]> {
  try {
    const { stdout } = await run('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository], { timeout: 15_000 });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.endsWith(':<none>'))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  } catch {
    return [];
  }
}
