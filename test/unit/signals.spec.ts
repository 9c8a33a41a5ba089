import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Starts the fixture, sends `signals` (300 ms apart: far enough that one is handled before the next arrives), and reports how it ended and what it printed. */
async function signalled(...signals: NodeJS.Signals[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'fixtures/drain-on-signals.ts')]);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  // Listened for before any signal: the second one may end the process within the pause between them.
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((r) => setTimeout(r, 300));
  }
  return { code: await exited, out };
}

describe('stopping on signals', function () {
  this.timeout(20_000);

  it("drains to the end when Ctrl-C is followed by the fleet's SIGTERM (the same request twice)", async () => {
    const { code, out } = await signalled('SIGINT', 'SIGTERM');
    assert.equal(code, 0);
    assert.match(out, /stopped/);
  });

  it('exits at once on the same signal twice (Ctrl-C, Ctrl-C)', async () => {
    const { code, out } = await signalled('SIGINT', 'SIGINT');
    assert.equal(code, 130);
    assert.doesNotMatch(out, /stopped/);
  });
});
