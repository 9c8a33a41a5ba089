/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 after a clean drain, 1 if it failed. The same signal again
 * while draining (Ctrl-C twice) exits at once. The other one is the same request and changes nothing: a terminal's
 * Ctrl-C reaches `npm run fleet` and each service alike, and the fleet passes it on as SIGTERM a moment later.
 */
export function stopOnSignals(stop: () => Promise<void>, onError: (error: unknown) => void): void {
  let first: NodeJS.Signals | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (first === signal) process.exit(130);
    if (first) return;
    first = signal;
    process.stderr.write(`${JSON.stringify({ level: 'info', msg: `${signal} received; draining` })}\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        onError(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
