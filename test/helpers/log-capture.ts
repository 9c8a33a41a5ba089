import { Writable } from 'node:stream';

/** A pino destination that keeps every line, for assertions on what was logged (and what never was). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }

  /** Parsed lines, optionally only those with the given message. */
  entries(msg?: string): Record<string, unknown>[] {
    const parsed = this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    return msg ? parsed.filter((e) => e['msg'] === msg) : parsed;
  }

  text(): string {
    return this.lines.join('\n');
  }
}
