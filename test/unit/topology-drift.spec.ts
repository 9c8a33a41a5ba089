import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Channel } from 'amqplib';
import { formatPlan } from '../../shared/cli/topology';
import type { QueueDeclaration } from '../../shared/messaging/topology';
import { parseInequivalentArg, ProbeSession } from '../../shared/messaging/topology-drift';

describe('topology drift', () => {
  describe('parseInequivalentArg (RabbitMQ 3.10 / 4.x refusal texts)', () => {
    const reply = (text: string) =>
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${text}"`;

    it('reads a changed value', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply("inequivalent arg 'x-delivery-limit' for queue 'warren.payment' in vhost 'v': received '9' but current is '8'"),
        ),
        { queue: 'warren.payment', argument: 'x-delivery-limit', declared: '9', actual: '8' },
      );
    });

    it('reads an argument the code no longer sets, with its type', () => {
      assert.deepEqual(
        parseInequivalentArg(
          reply(
            "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received none but current is the value '8' of type 'byte'",
          ),
        ),
        { queue: 'q', argument: 'x-delivery-limit', declared: 'none', actual: '8' },
      );
    });

    it('reads any vhost name and multi-character values, with or without the reply text around it', () => {
      const text = "inequivalent arg 'x-max-length' for queue 'warren.order' in vhost 'warren-prod': received '100000' but current is '20'";
      const expected = { queue: 'warren.order', argument: 'x-max-length', declared: '100000', actual: '20' };
      assert.deepEqual(parseInequivalentArg(reply(text)), expected);
      assert.deepEqual(parseInequivalentArg(`PRECONDITION_FAILED - ${text}`), expected, 'the close reason alone, unquoted');
    });

    it('is undefined for any other failure', () => {
      assert.equal(parseInequivalentArg('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), undefined);
    });
  });

  it('the plan says what to run', () => {
    const text = formatPlan([
      { queue: 'q', service: 's', status: 'drift', argument: 'x-delivery-limit', declared: '9', actual: '8', messages: 3, consumers: 0 },
      { queue: 'q.retry.800', service: 's', status: 'missing' },
      { queue: 'q.dlq', service: 's', status: 'ok', messages: 0, consumers: 0 },
    ]);
    assert.match(text, /^q\s+s\s+drift\s+3\s+x-delivery-limit: 8 -> 9 \(migrate\)$/m);
    assert.match(text, /1 queue\(s\) missing: npm run topology -- apply/);
    assert.match(text, /1 queue\(s\) drift: .*migrate/);
    assert.match(formatPlan([{ queue: 'q', service: 's', status: 'ok', messages: 0 }]), /The broker matches the code\./);
  });

  describe("the operator's probe (topology plan and apply): a refused declaration is drift", () => {
    const INEQUIVALENT =
      'Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ' +
      "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received '7' but current is '5'\"";
    const declaration = (name: string): QueueDeclaration => ({
      name,
      options: { durable: true },
      bindings: [],
      failureBinding: { exchange: 'q.failures', routingKey: 'return' },
    });

    /** Opens probe channels on a broker that refuses, lacks or cannot look up the queues named, recording every call in `log`. */
    function broker(refused: Record<string, string> = {}, missing: string[] = [], unreadable: Record<string, string> = {}) {
      const log: string[] = [];
      const opened: EventEmitter[] = [];
      const open = async (): Promise<Channel> => {
        const channel = Object.assign(new EventEmitter(), {
          assertQueue: async (queue: string) => {
            log.push(`assertQueue ${queue}`);
            if (refused[queue]) throw new Error(refused[queue]);
            return { queue, messageCount: 0, consumerCount: 0 };
          },
          checkQueue: async (queue: string) => {
            log.push(`checkQueue ${queue}`);
            if (missing.includes(queue))
              throw new Error(`Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue '${queue}'"`);
            if (unreadable[queue]) throw new Error(unreadable[queue]);
            return { queue, messageCount: 0, consumerCount: 0 };
          },
          close: async () => void log.push(`close channel ${opened.indexOf(channel) + 1}`),
        });
        opened.push(channel);
        log.push(`open channel ${opened.length}`);
        return channel as unknown as Channel;
      };
      return { log, opened, open };
    }

    it('declares on one channel of its own, and opens another only after a refusal closed it', async () => {
      const { log, open } = broker({ q: INEQUIVALENT });
      const session = new ProbeSession(open);
      assert.deepEqual(await session.declare(declaration('q.dlq')), { kind: 'declared' });
      assert.deepEqual(await session.declare(declaration('q')), {
        kind: 'drift',
        drift: { queue: 'q', argument: 'x-delivery-limit', declared: '7', actual: '5' },
      });
      assert.deepEqual(await session.declare(declaration('q.retry.10')), { kind: 'declared' });
      await session.close();
      await session.close();
      assert.deepEqual(log, [
        'open channel 1',
        'assertQueue q.dlq',
        'assertQueue q',
        'open channel 2',
        'assertQueue q.retry.10',
        'close channel 2',
      ]);
    });

    it('fails on any other refusal (no permission), and declares on a fresh channel after it', async () => {
      const refusal = 'Operation failed: QueueDeclare; 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to queue \'q\' refused"';
      const { log, open } = broker({ q: refusal, 'q.odd': 'PRECONDITION_FAILED - exclusive queue owned by another connection' });
      const session = new ProbeSession(open);
      await assert.rejects(session.declare(declaration('q')), { message: refusal });
      await assert.rejects(session.declare(declaration('q.odd')), /exclusive queue/, 'a 406 that names no argument is no drift');
      assert.deepEqual(await session.declare(declaration('q.dlq')), { kind: 'declared' });
      assert.deepEqual(
        log.filter((l) => l.startsWith('open')),
        ['open channel 1', 'open channel 2', 'open channel 3'],
      );
    });

    it('only looks when passive: a missing queue is reported, never created; an existing one is compared', async () => {
      const { log, open } = broker({ q: INEQUIVALENT }, ['q.retry.10']);
      const session = new ProbeSession(open);
      assert.deepEqual(await session.declare(declaration('q.retry.10'), true), { kind: 'missing' });
      assert.equal((await session.declare(declaration('q'), true)).kind, 'drift');
      assert.equal(await session.exists('q.dlq'), true);
      assert.ok(!log.includes('assertQueue q.retry.10'), 'the plan creates nothing');
      await assert.rejects(new ProbeSession(broker({}, [], { q: 'Channel closed' }).open).exists('q'), /Channel closed/);
    });

    it("keeps the broker's channel error for itself (an unheard 'error' event would end the process)", async () => {
      const { opened, open } = broker({ q: INEQUIVALENT });
      const session = new ProbeSession(open);
      await session.declare(declaration('q'));
      assert.doesNotThrow(() => opened[0]!.emit('error', new Error('PRECONDITION_FAILED')));
    });

    it('closes quietly a channel the broker has closed already', async () => {
      const session = new ProbeSession(
        async () =>
          Object.assign(new EventEmitter(), {
            assertQueue: async () => ({}),
            close: async () => Promise.reject(new Error('Channel closed')),
          }) as unknown as Channel,
      );
      await session.declare(declaration('q'));
      await session.close();
    });
  });
});
