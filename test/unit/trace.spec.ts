import assert from 'node:assert/strict';
import { childSpan, formatTraceparent, parseTraceparent } from '../../shared/observability/trace';

describe('trace context', () => {
  it('keeps the trace id and makes a new span id', () => {
    const parent = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')!;
    const child = childSpan(parent);
    assert.equal(child.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.notEqual(child.spanId, parent.spanId);
    assert.match(formatTraceparent(child), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  });

  it('ignores malformed or all-zero traceparents and starts a new trace', () => {
    assert.equal(parseTraceparent('garbage'), undefined);
    assert.equal(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined);
    assert.match(childSpan(undefined).traceId, /^[0-9a-f]{32}$/);
  });
});
