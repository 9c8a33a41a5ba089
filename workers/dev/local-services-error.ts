/** A set-up failure the user can act on: the launcher prints it as one line, no stack, and exits 69. */
export class LocalServicesError extends Error {}
