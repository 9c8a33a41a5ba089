import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { bindingMatches } from '../../shared/messaging/topology';
import { inventory } from '../../workers/inventory/service';
import { order } from '../../workers/order/service';
import { payment } from '../../workers/payment/service';
import { unconsumedKeys } from '../../workers/registry';
import { paymentDeclined, until } from './fakes/fixtures';
import { publisherWith } from './fakes/publisher-harness';

/** A service publishing an event nobody binds yet: what adding one to the registry looks like. */
const newcomer = (bindings: readonly string[] = ['order.confirmed']): ServiceDeclaration => ({
  name: 'newcomer',
  summary: 'books parcels',
  consumes: [{ name: 'warren.newcomer', bindings }],
  events: { ParcelBooked: { routingKey: 'newcomer.booked', version: 1, schema: Type.Object({}) } },
  ops: { env: 'NEWCOMER_OPS_PORT', default: 9190 },
});

/** The three services (not the registry, which may hold one added since, as test/deploy/add-a-service does). */
const THREE: readonly ServiceDeclaration[] = [order, inventory, payment];

describe('events no service consumes yet', () => {
  it('matches topic bindings as RabbitMQ does: * one word, # zero or more', () => {
    assert.ok(bindingMatches('order.placed', 'order.placed'));
    assert.ok(bindingMatches('order.*', 'order.placed'));
    assert.ok(!bindingMatches('order.*', 'order.placed.v2'));
    assert.ok(bindingMatches('order.#', 'order'));
    assert.ok(bindingMatches('#.booked', 'newcomer.booked'));
    assert.ok(bindingMatches('#', 'anything.at.all'));
    assert.ok(!bindingMatches('order.placed', 'order.confirmed'));
    assert.ok(!bindingMatches('*.placed', 'placed'));
  });

  it('are none among the three services: every event one publishes, another binds', () => {
    assert.deepEqual(unconsumedKeys(THREE), []);
  });

  it("are a new service's events until a queue binds them, by name or by pattern", () => {
    assert.deepEqual(unconsumedKeys([...THREE, newcomer()]), ['newcomer.booked']);
    assert.deepEqual(unconsumedKeys([...THREE, newcomer(['order.confirmed', 'newcomer.*'])]), []);
  });

  it('go out without mandatory (the broker drops them), while every other event stays mandatory', async () => {
    const { publisher, broker } = await publisherWith({ unconsumed: new Set(['payment.declined']) });
    broker.confirm = (p) => (p.options.mandatory ? 'return' : 'ack');
    // With mandatory, this fake returns the message: the publish fails, as for a deleted queue.
    await publisher.publishEvent(paymentDeclined('o-1'));
    await until('the publish', () => broker.published.length === 1);
    assert.equal(broker.published[0]!.options.mandatory, false);
    const { publisher: strict, broker: strictBroker } = await publisherWith();
    strictBroker.confirm = (p) => (p.options.mandatory ? 'return' : 'ack');
    await assert.rejects(strict.publishEvent(paymentDeclined('o-2')), /unroutable|returned/);
    assert.equal(strictBroker.published[0]!.options.mandatory, true);
  });
});
