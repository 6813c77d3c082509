/**
 * Stops the process gracefully on SIGTERM/SIGINT: `stop` finishes what is
 * running, then the process exits 0 (1 if stopping failed). Shared by the
 * gateway (`main.ts`) and the worker (`worker.ts`).
 */
export function exitGracefullyOnSignals(what: string, stop: () => Promise<void>, beforeStop: () => void = () => undefined): void {
  const shutdown = (signal: string) => {
    process.stderr.write(`${signal} received, ${what}\n`);
    beforeStop();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
