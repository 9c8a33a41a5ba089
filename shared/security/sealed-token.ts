import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PermanentError } from '../errors/errors';
import type { TokenKeyring } from './token-keys';

/**
 * A payment token sealed with AES-256-GCM for the bus: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts). The
 * order id is the additional authenticated data, so a sealed token copied into another order's event does not open.
 */
export const SEALED_TOKEN_PATTERN = '^v1\\.[A-Za-z0-9_-]{1,32}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{1,200}\\.[A-Za-z0-9_-]{22}$';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

/**
 * A sealed token that cannot be opened: its key id is unknown here, or it was altered, or it belongs to another
 * order. Permanent (no retry opens it); the message names the key id only, never any part of the token.
 */
export class SealedTokenError extends PermanentError {
  override readonly name = 'SealedTokenError';
  override readonly code: string;
  constructor(message: string, code: 'UNKNOWN_TOKEN_KEY' | 'TOKEN_NOT_AUTHENTIC') {
    super(message);
    this.code = code;
  }
}

export function sealToken(keys: TokenKeyring, token: string, orderId: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, keys.current.key, iv);
  cipher.setAAD(Buffer.from(orderId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'));
  return ['v1', keys.current.kid, ...parts].join('.');
}

/** Opens a token {@link sealToken} sealed for this order with any key of the ring; throws {@link SealedTokenError}. */
export function openToken(keys: TokenKeyring, sealed: string, orderId: string): string {
  const [version, kid = '', iv = '', ciphertext = '', tag = ''] = sealed.split('.');
  if (version !== 'v1') throw new SealedTokenError('sealed payment token: unknown format', 'TOKEN_NOT_AUTHENTIC');
  const key = keys.byKid.get(kid);
  // The kid comes from the message: printed only if it has the alphabet a kid may have.
  if (!key)
    throw new SealedTokenError(
      `sealed payment token: unknown key id ${/^[\w-]{1,32}$/.test(kid) ? kid : '(invalid)'}`,
      'UNKNOWN_TOKEN_KEY',
    );
  try {
    // The full 16-byte tag, always: without authTagLength, GCM accepts a tag cut down to 4 bytes, which a forger
    // guesses in 2^32 tries instead of 2^128.
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(orderId, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    // GCM's only answer to a wrong key, altered bytes or another order's token: the tag does not match.
    throw new SealedTokenError(`sealed payment token: not authentic under key ${kid} for this order`, 'TOKEN_NOT_AUTHENTIC');
  }
}
