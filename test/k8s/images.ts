import { exec, REPO } from './cluster';

/** The tag docs/deploy.md tells users to build and push, and installs with the chart's pullPolicy IfNotPresent. */
export const WARREN_IMAGE = 'registry.example.com/warren:0.1.0';
/** The Node.js base the image is built from where no registry is reachable (test/docker/standin-images.sh). */
export const NODE_IMAGE = 'warren-standin/node:24';
/** What the fixtures run: the compose file's RabbitMQ and Redis stand-ins, and Node.js for the identity provider. */
export const STANDIN_IMAGES = ['warren-standin/rabbitmq:4.3', 'warren-standin/redis:8.0.6', NODE_IMAGE] as const;

export const imageExists = (image: string): Promise<boolean> =>
  exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image]).then(
    () => true,
    () => false,
  );

/** Fails naming the script to run when a stand-in image is missing. */
export async function requireStandins(): Promise<void> {
  const missing: string[] = [];
  for (const image of STANDIN_IMAGES) if (!(await imageExists(image))) missing.push(image);
  if (missing.length > 0) throw new Error(`stand-in images missing (${missing.join(', ')}): run test/docker/standin-images.sh`);
}

/**
 * Builds the repo's Dockerfile as WARREN_IMAGE on the stand-in Node.js base, with the classic builder (BuildKit
 * would fetch its frontend from a registry). Returns whether the tag is new, so that only a tag this run made is
 * removed afterwards.
 */
export async function buildWarrenImage(): Promise<{ created: boolean }> {
  const existed = await imageExists(WARREN_IMAGE);
  await exec('docker', ['build', '--build-arg', `NODE_IMAGE=${NODE_IMAGE}`, '-t', WARREN_IMAGE, '.'], {
    cwd: REPO,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    timeoutMs: 900_000,
  });
  return { created: !existed };
}

/** Removes the tag (its build cache stays, so the next build reuses the dependency layers). */
export async function removeWarrenImage(): Promise<void> {
  await exec('docker', ['image', 'rm', WARREN_IMAGE]).catch(() => undefined);
}
