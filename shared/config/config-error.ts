/**
 * Thrown at start-up when a variable is missing or malformed; its message is one line naming the variable. In a
 * file of its own, below everything that reads the environment, so that none of them imports another for it.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
