/**
 * The soak's verdict thresholds: when a service's memory counts as flat. Exported for test/soak/, which judges its
 * longer runs by the same numbers.
 */
/**
 * The highest last-half RSS slope still called flat, in MB per minute: 10 MB over the 10-minute run. At the
 * soak's rate (half the fleet's maximum, a few hundred orders/s on the two-core bench machine: ten thousand
 * orders a minute or more) it is ~100 bytes per order, about what a single Map entry keyed by an order id
 * costs, so any per-order retention shows above it; a service that has levelled off moves by a few MB at most
 * (GC sawtooth, V8 growing a space once). When the sawtooth itself could fake a larger slope over the window (the
 * 60 s quick run: a 30 s last half), the verdict allows that noise instead (see {@link trend}).
 */
export const FLAT_RSS_SLOPE_MB_PER_MIN = 1;

/**
 * The shortest measured part whose RSS is judged: over less (the 60 s quick run), a service is still growing into
 * its heap and the last half is too short to tell a warm-up from a leak, so the numbers are reported unjudged.
 */
export const MIN_JUDGED_MINUTES = 5;

/**
 * The most the V8 heap and the RSS right after a full collection may grow over the measured part and still be
 * called flat, in MB: over the 10-minute soak (~200,000 orders) about 10 and 25 bytes an order, far below one
 * retained object per order. Sampled RSS also carries the garbage not yet collected (a service at 270–330 MB
 * sampled is at 100–115 MB right after a full collection), so its slope depends on when the major collections
 * fell; after a full collection it does not.
 */
export const FLAT_HEAP_AFTER_GC_MB = 2;
export const FLAT_RSS_AFTER_GC_MB = 5;
