/**
 * Dependencies for routes that are registered only to be described (the contracts generator registers the real
 * route functions on an app that never listens). Reading a property gives another stand-in, so a route function
 * may destructure its dependencies; calling or constructing one throws, since no handler may run there.
 */
export function describedOnly<T>(what: string): T {
  const refuse = (): never => {
    throw new Error(`${what}: registered to be described, never run`);
  };
  const standIn: object = new Proxy(function standIn() {}, {
    // Not a thenable: awaiting a stand-in must not look like a pending promise.
    get: (_target, key) => (key === 'then' ? undefined : standIn),
    apply: refuse,
    construct: refuse,
  });
  return standIn as T;
}
