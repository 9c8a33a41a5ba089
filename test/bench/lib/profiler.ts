import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/**
 * A CPU profile of just the measured part of a scenario (not the set-up and pre-loading around it), written as
 * a `.cpuprofile` that Chrome DevTools or speedscope opens. Active only when `BENCH_PROFILE_DIR` is set.
 */
export async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env['BENCH_PROFILE_DIR'];
  if (!dir) return run();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/${name}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}
