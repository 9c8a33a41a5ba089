import type { Line, ReservationStatus } from '../domain/stock';

export interface ReservationResult {
  status: ReservationStatus;
  /** True when this call changed state; false when the record already stood (a duplicate). */
  changed: boolean;
  /** On REJECTED: the first product short of stock. */
  productId?: string;
  items?: Line[];
}

export interface StockLevel {
  productId: string;
  available: number;
  reserved: number;
}

/**
 * Stock per product and one reservation record per order, as the handlers and the admin routes need them. Each
 * change is atomic with the order's record, which is its done marker: a repeated call answers what the first one
 * did (`changed: false`) and moves no stock. Ids are held to the id rule (`InvalidIdError` otherwise).
 * Implementations: `StockStore` (Redis, stock-store.ts) and `MemoryStockStore` (memory-stock-store.ts), checked by one conformance suite
 * (test/conformance/stock-store.conformance.ts).
 */
export interface InventoryStore {
  /**
   * Reserves every line or none: RESERVED, or REJECTED naming the first product short of stock. An order's record
   * stands once written (a CANCELLED tombstone too). Throws `ConflictingEventError` when it was made for other lines,
   * and `StatePreconditionError` when a stock count is not an integer (nothing written either way).
   */
  reserve(orderId: string, lines: readonly Line[]): Promise<ReservationResult>;
  /**
   * `release` on cancel (stock back to available), `commit` on confirm (the reservation is consumed). Releasing an
   * order never reserved leaves a CANCELLED tombstone; committing one answers undefined.
   */
  settle(orderId: string, how: 'release' | 'commit'): Promise<ReservationResult | undefined>;
  setAvailable(productId: string, available: number): Promise<StockLevel>;
  get(productId: string): Promise<StockLevel>;
}
