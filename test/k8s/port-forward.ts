import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import type { Kube } from './cluster';

const CHECK_EVERY_MS = 3000;
/** Long enough for a pod starved of CPU to answer: only a forward that passes nothing at all is restarted. */
const CHECK_TIMEOUT_MS = 5000;
const FAILED_CHECKS_TO_RESTART = 3;

/**
 * `kubectl port-forward` of one Service port to a free 127.0.0.1 port, kept up: kubectl forwards to one pod behind
 * the Service and exits when that pod goes (a rolling upgrade, a killed pod), so it is started again on the same
 * local port, and picks a pod that is there. Meanwhile connections are refused: clients retry, as they would behind
 * any load balancer. Portable to any cluster (no node or Service address needs to be reachable from here).
 */
export class PortForward {
  private child: ChildProcess | undefined;
  private closed = false;
  private readonly watchdog: NodeJS.Timeout;
  private failedChecks = 0;
  /** How many times kubectl was started again after its pod went away. */
  restarts = 0;
  private readonly output: string[] = [];

  private constructor(
    private readonly kube: Kube,
    readonly target: string,
    readonly remotePort: number,
    readonly localPort: number,
    private readonly checkPath: string,
  ) {
    this.watchdog = setInterval(() => {
      this.check().catch(() => undefined);
    }, CHECK_EVERY_MS);
    this.watchdog.unref();
  }

  /**
   * Forwards `svc/<name>:<port>`; resolves once the local port answers. `checkPath` is requested every few
   * seconds (any HTTP answer will do): kubectl can also stay up while passing nothing (its stream to the pod broken
   * under load), and is then started again.
   */
  static async open(kube: Kube, service: string, remotePort: number, checkPath = '/healthz'): Promise<PortForward> {
    const forward = new PortForward(kube, `svc/${service}`, remotePort, await freePort(), checkPath);
    forward.start();
    await waitFor(`port-forward of ${forward.target}:${remotePort}`, () => forward.listening(), 30_000, 100).catch((error: Error) => {
      forward.close();
      throw new Error(`${error.message}\n${forward.output.slice(-10).join('\n')}`);
    });
    return forward;
  }

  get url(): string {
    return `http://127.0.0.1:${this.localPort}`;
  }

  private start(): void {
    const child = spawn(
      this.kube.cluster.kubectl,
      ['-n', this.kube.namespace, 'port-forward', '--address', '127.0.0.1', this.target, `${this.localPort}:${this.remotePort}`],
      { env: this.kube.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l && !l.startsWith('Handling connection')),
      );
      this.output.splice(0, Math.max(0, this.output.length - 50));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', () => {
      if (this.child !== child || this.closed) return;
      this.child = undefined;
      this.restarts++;
      // A short pause: the Service's endpoints may still name the pod that just went.
      setTimeout(() => {
        if (!this.closed) this.start();
      }, 500);
    });
  }

  /** Checks in a row without an answer: kubectl is stuck, so it goes (and starts again on exit). */
  private async check(): Promise<void> {
    if (!this.child || this.closed || !this.listening()) return;
    const child = this.child;
    const answered = await fetch(`${this.url}${this.checkPath}`, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) }).then(
      async (r) => {
        await r.arrayBuffer();
        return true;
      },
      () => false,
    );
    this.failedChecks = answered ? 0 : this.failedChecks + 1;
    if (this.failedChecks >= FAILED_CHECKS_TO_RESTART && this.child === child) {
      this.failedChecks = 0;
      child.kill('SIGKILL');
    }
  }

  private listening(): boolean {
    return this.output.some((l) => l.startsWith(`Forwarding from 127.0.0.1:${this.localPort}`));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.watchdog);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
