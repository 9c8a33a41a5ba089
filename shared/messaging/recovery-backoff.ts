/** The first wait before a consumer tries to subscribe again: a deleted queue is usually back at once. */
export const RECOVERY_FIRST_DELAY_MS = 250;
/** The longest wait between two attempts, so that a broker back after an outage is used within seconds. */
export const RECOVERY_MAX_DELAY_MS = 5000;

/** The wait before recovery attempt `attempt` (0-based): doubling from the first delay up to the cap. */
export function recoveryDelayMs(attempt: number): number {
  return Math.min(RECOVERY_MAX_DELAY_MS, RECOVERY_FIRST_DELAY_MS * 2 ** Math.min(attempt, 16));
}
