import type { ChildProcess } from 'node:child_process';

/** A process's memory right after a full garbage collection, in MB. */
export interface AfterGc {
  heapUsedMb: number;
  rssMb: number;
  externalMb: number;
  /** What V8 keeps committed for its heap after the collection: RSS beyond it and external is code, stacks, malloc. */
  heapTotalMb: number;
}

/**
 * A service started with `--inspect=127.0.0.1:0`, reached over its DevTools WebSocket: a full garbage collection
 * on demand, then `process.memoryUsage()`. A heap sampled every second rides the GC sawtooth (a 5-minute window
 * may hold no major collection at all); the heap after a full collection does not, so a leak shows as growth of
 * it between two points of a soak, and a flat one with a growing RSS points below V8 (the allocator, or native
 * memory).
 */
export class Inspector {
  private constructor(private readonly url: string) {}

  /** Reads the inspector's address from the child's stderr ("Debugger listening on ws://…"). */
  static attach(child: ChildProcess, timeoutMs = 15_000): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        child.stderr?.off('data', onData);
        reject(new Error('no "Debugger listening" line on the child’s stderr'));
      }, timeoutMs);
      const onData = (chunk: Buffer) => {
        seen += chunk.toString('utf8');
        const url = /Debugger listening on (ws:\/\/\S+)/.exec(seen)?.[1];
        if (!url) return;
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(new Inspector(url));
      };
      child.stderr?.on('data', onData);
    });
  }

  /** Runs a full (major, compacting) collection, then reads the process's memory. */
  async afterFullGc(): Promise<AfterGc> {
    const socket = new WebSocket(this.url);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error(`inspector ${this.url}: could not connect`));
      });
      const replies = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
      socket.onmessage = (event: MessageEvent) => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
        if (message.id !== undefined) replies.get(message.id)?.resolve(message.result);
      };
      // A service that dies mid-probe closes the socket: its calls fail instead of holding the soak for ever.
      socket.onclose = () => {
        for (const reply of replies.values()) reply.reject(new Error(`inspector ${this.url}: closed before it answered`));
      };
      let nextId = 1;
      const call = (method: string, params: Record<string, unknown> = {}) =>
        new Promise<unknown>((resolve, reject) => {
          const id = nextId++;
          replies.set(id, { resolve, reject });
          socket.send(JSON.stringify({ id, method, params }));
        });
      await call('HeapProfiler.collectGarbage');
      const reply = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result?: { value?: string } };
      const usage = JSON.parse(reply.result?.value ?? '{}') as { heapUsed?: number; rss?: number; external?: number; heapTotal?: number };
      const mb = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : Math.round((bytes / 2 ** 20) * 10) / 10);
      return { heapUsedMb: mb(usage.heapUsed), rssMb: mb(usage.rss), externalMb: mb(usage.external), heapTotalMb: mb(usage.heapTotal) };
    } finally {
      socket.close();
    }
  }
}
