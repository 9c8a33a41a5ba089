/**
 * The plain peer's consumers: amqplib and ioredis, written as a user who knows both would write them. Each
 * delivery is `JSON.parse`d and trusted (no schema validation, no upcasting: the checks Warren makes are the
 * user's to skip), its effect is the same Lua script Warren runs with the same KEYS and ARGV (plain-calls.ts),
 * an outcome is published on a confirm channel and the delivery acked once the broker confirmed it. One ack per
 * delivery, no metrics, no logging, no tracing, no handler timeout, no retry tiers; ioredis with its defaults.
 * Nothing here imports Warren: the plain fleet's processes load this file.
 *
 * One concern a file beside it: plain-consume-loop.ts (the context, the consume loop, the outcome's shape), then
 * plain-inventory-handler.ts, plain-payment-handler.ts and plain-order-handler.ts; this file gathers them for the
 * bench (peers/inventory-peers.ts, workers/plain-fleet.ts).
 */
export { consume, outcome, properties, type Consumer, type PlainContext } from './plain-consume-loop';
export { inventoryHandler } from './plain-inventory-handler';
export { orderHandler } from './plain-order-handler';
export { paymentHandler } from './plain-payment-handler';
