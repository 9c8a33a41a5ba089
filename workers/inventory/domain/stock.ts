export interface Line {
  productId: string;
  quantity: number;
}

/** Merges lines of the same product, so a reservation checks each product's total once. Order of first appearance is kept. */
export function mergeLines(items: readonly Line[]): Line[] {
  const totals = new Map<string, number>();
  for (const { productId, quantity } of items) totals.set(productId, (totals.get(productId) ?? 0) + quantity);
  return [...totals].map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Where a reservation for one order stands. `CANCELLED` is a tombstone: the order was cancelled before its
 * reservation was made, so a late `OrderPlaced` must not reserve.
 */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED' | 'COMMITTED' | 'CANCELLED';
