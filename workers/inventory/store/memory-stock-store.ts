import { ConflictingEventError } from '../../../shared/errors/errors';
import { idKey } from '../../../shared/redis/key-layout';
import { StatePreconditionError } from '../../../shared/redis/script';
import type { Line, ReservationStatus } from '../domain/stock';
import type { InventoryStore, ReservationResult, StockLevel } from './inventory-store';

interface Reservation {
  status: ReservationStatus;
  /** The lines as first seen, serialised as the Redis store keeps them: another order of the same lines conflicts. */
  items?: string;
  productId?: string;
}

/**
 * {@link InventoryStore} in memory, for unit tests of the handlers: the Redis store's decisions and answers, step
 * for step (stock-store.ts). Each method runs to its end without awaiting, so it is as atomic as a Redis function.
 * Records never expire: the retention is days, longer than any test.
 */
export class MemoryStockStore implements InventoryStore {
  private readonly stock = new Map<string, { available: number; reserved: number }>();
  private readonly reservations = new Map<string, Reservation>();

  async reserve(orderId: string, lines: readonly Line[]): Promise<ReservationResult> {
    const key = orderKey(orderId);
    lines.forEach((line) => stockKey(line.productId));
    const items = JSON.stringify(lines);
    const seen = this.reservations.get(key);
    if (seen) {
      if (seen.items !== undefined && seen.items !== items)
        throw new ConflictingEventError(`OrderPlaced for ${orderId} has other lines than the first one seen`);
      return { status: seen.status, changed: false, ...(seen.productId ? { productId: seen.productId } : {}) };
    }
    this.checkCounts(lines);
    // Each line against the stock as it stood before this call, as the Redis function checks them.
    const short = lines.find((line) => this.levelOf(line.productId).available < line.quantity);
    if (short) {
      this.reservations.set(key, { status: 'REJECTED', productId: short.productId, items });
      return { status: 'REJECTED', changed: true, productId: short.productId };
    }
    for (const { productId, quantity } of lines) {
      const level = this.levelOf(productId);
      this.stock.set(stockKey(productId), { available: level.available - quantity, reserved: level.reserved + quantity });
    }
    this.reservations.set(key, { status: 'RESERVED', items });
    return { status: 'RESERVED', changed: true };
  }

  async settle(orderId: string, how: 'release' | 'commit'): Promise<ReservationResult | undefined> {
    const key = orderKey(orderId);
    const record = this.reservations.get(key);
    const lines = record?.items ? (JSON.parse(record.items) as Line[]) : [];
    this.checkCounts(lines);
    if (record?.status === 'RESERVED') {
      for (const { productId, quantity } of lines) {
        const level = this.levelOf(productId);
        const available = how === 'release' ? level.available + quantity : level.available;
        this.stock.set(stockKey(productId), { available, reserved: level.reserved - quantity });
      }
      record.status = how === 'release' ? 'RELEASED' : 'COMMITTED';
      return { status: record.status, changed: true, items: lines };
    }
    if (!record && how === 'release') {
      // The tombstone: a late OrderPlaced of this order must not reserve.
      this.reservations.set(key, { status: 'CANCELLED' });
      return { status: 'CANCELLED', changed: true };
    }
    if (!record) return undefined;
    return { status: record.status, changed: false, ...(record.items ? { items: lines } : {}) };
  }

  async setAvailable(productId: string, available: number): Promise<StockLevel> {
    const { reserved } = this.levelOf(productId);
    this.stock.set(stockKey(productId), { available, reserved });
    return this.get(productId);
  }

  async get(productId: string): Promise<StockLevel> {
    return { productId, ...this.levelOf(productId) };
  }

  private levelOf(productId: string): { available: number; reserved: number } {
    return this.stock.get(stockKey(productId)) ?? { available: 0, reserved: 0 };
  }

  /** A count set to a fraction (as `setAvailable` allows) is refused before any write, as the Redis function does. */
  private checkCounts(lines: readonly Line[]): void {
    for (const { productId } of lines) {
      const { available, reserved } = this.levelOf(productId);
      if (!Number.isInteger(available) || !Number.isInteger(reserved))
        throw new StatePreconditionError(`stock of ${productId} holds a count that is not an integer`);
    }
  }
}

// The Redis store's key layout, without a prefix: an id it refuses (InvalidIdError) is refused here too.
const orderKey = (orderId: string) => idKey('', 'inventory:order', orderId);
const stockKey = (productId: string) => idKey('', 'stock', productId);
