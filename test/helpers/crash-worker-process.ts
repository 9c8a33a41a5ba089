import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CrashWorkerLine } from './crash-worker';

const WORKER = path.join(__dirname, 'crash-worker.ts');

/** One run of test/helpers/crash-worker.ts: its JSON lines as they come, and how it ended. */
export class CrashWorkerProcess {
  readonly lines: CrashWorkerLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) if (line.trim()) this.lines.push(JSON.parse(line) as CrashWorkerLine);
    });
    this.child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (the worker drains), then its exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }
}
