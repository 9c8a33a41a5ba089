import { randomUUID } from 'node:crypto';
import { createEvent } from '../../../shared/events/codec';
import type { OrderPlaced } from '../../../workers/order/events';
// Registers the fleet's events (each service's events.ts), which createEvent needs.
import '../../../workers/registry';
import { sealToken } from '../../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../../shared/security/token-keys';
import type { Outgoing } from './raw';

export const EXCHANGE = 'warren.events';
export const PRODUCTS = ['P001', 'P002', 'P003', 'P004', 'P005', 'P006', 'P007', 'P008'];

/** An `OrderPlaced` of the current version: `lines` line items (20 make a body of about 1 KB), its token sealed with the dev key. */
export function orderPlaced(i: number, lines = 2): OrderPlaced {
  const orderId = randomUUID();
  const items = Array.from({ length: lines }, (_, k) => ({ productId: PRODUCTS[(i + k) % PRODUCTS.length]!, quantity: 1 + (k % 3) }));
  return createEvent(
    'OrderPlaced',
    {
      orderId,
      customerId: `bench-${i % 1000}`,
      items,
      totalAmount: 42.5,
      currency: 'USD',
      sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, 'tok_visa', orderId),
    },
    { correlationId: orderId },
  );
}

/** The same event as a raw publisher would send it: the AMQP properties Warren sets, nothing more. */
export function rawMessage(
  event: { eventId: string; eventType: string; correlationId: string },
  routingKey: string,
  exchange = EXCHANGE,
): Outgoing {
  return {
    exchange,
    routingKey,
    content: Buffer.from(JSON.stringify(event)),
    options: {
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      messageId: event.eventId,
      type: event.eventType,
      correlationId: event.correlationId,
      timestamp: Math.floor(Date.now() / 1000),
    },
  };
}

/**
 * A ~1 KB JSON body with a fresh id for the raw publish baseline: the same event as {@link orderPlaced} with 20
 * lines, built by hand (no schema check), its payment token sealed as every OrderPlaced's must be now (a raw
 * baseline that skipped the seal left Warren's side paying ~10 % more CPU for the same event).
 */
export function rawKilobyte(i: number): Outgoing {
  const orderId = randomUUID();
  const items = Array.from({ length: 20 }, (_, k) => ({ productId: PRODUCTS[(i + k) % PRODUCTS.length]!, quantity: 1 + (k % 3) }));
  const body = {
    eventType: 'OrderPlaced',
    version: 3,
    eventId: randomUUID(),
    orderId,
    customerId: `bench-${i % 1000}`,
    items,
    totalAmount: 42.5,
    currency: 'USD',
    sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, 'tok_visa', orderId),
    correlationId: orderId,
    timestamp: new Date().toISOString(),
  };
  return rawMessage(body, 'order.placed');
}

export const newId = randomUUID;
