import { EnvError, makeValidator } from 'envalid';

/** One AES-256 key of the payment-token keyring, named by the id that travels with every token it seals. */
export interface TokenKey {
  kid: string;
  key: Buffer;
}

/** The keys that seal payment tokens: the first seals, every one opens (so a retired key still reads old messages). */
export interface TokenKeyring {
  current: TokenKey;
  byKid: ReadonlyMap<string, Buffer>;
}

/** Key ids travel in every sealed token: short, and of an alphabet that needs no escaping anywhere. */
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const KEY_BYTES = 32;

export function keyring(keys: readonly TokenKey[]): TokenKeyring {
  const [current] = keys;
  if (!current) throw new Error('a keyring needs at least one key');
  return { current, byKid: new Map(keys.map((k) => [k.kid, k.key])) };
}

/**
 * `PAYMENT_TOKEN_KEYS`: `kid:base64key,kid:base64key,...`, each key 32 random bytes (`openssl rand -base64 32`).
 * Empty means none configured. The error never repeats a key's value, only its position and id.
 */
export const tokenKeyList = makeValidator<TokenKeyring | undefined>((input) => {
  const entries = input
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const kid = colon < 0 ? '' : entry.slice(0, colon);
    if (!KID.test(kid)) throw new EnvError(`entry ${i + 1}: expected kid:base64key with a kid of 1-32 letters, digits, _ or -`);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new EnvError(`key ${kid}: expected ${KEY_BYTES} bytes in base64, got ${key.length}`);
    return { kid, key };
  });
  const kids = keys.map((k) => k.kid);
  const twice = kids.find((kid, i) => kids.indexOf(kid) !== i);
  if (twice) throw new EnvError(`key id ${twice} appears twice`);
  return keyring(keys);
});

/**
 * The keyring `npm run fleet` uses when PAYMENT_TOKEN_KEYS is unset outside production: a fixed, published key, so
 * a laptop fleet (and messages it left in queues) keeps working across restarts. It protects nothing.
 */
export const DEV_TOKEN_KEYRING: TokenKeyring = keyring([{ kid: 'dev', key: Buffer.alloc(KEY_BYTES, 'warren-dev-only-payment-token-key') }]);
