/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 after a clean drain, 1 if it failed. A second signal
 * while draining exits at once.
 */
export function stopOnSignals(stop: () => Promise<void>, onError: (error: unknown) => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
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
