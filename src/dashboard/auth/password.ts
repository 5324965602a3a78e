// Dashboard passwords: scrypt (node:crypto, run on libuv's thread pool, so the event loop keeps serving),
// stored as "scrypt$N$r$p$<salt base64url>$<hash base64url>" in dashboard_users[name].password. The
// cost is in the string, so a hash written with older parameters still verifies after they change.
// N = 2^15 (32 MiB, r = 8, p = 1): 86-240 ms per hash on this project's 2-core test machine, measured
// against 39-190 ms for 2^14 and 210-380 ms for 2^16 (a login waits for one; OWASP's floor is 2^17,
// which costs 128 MiB a login: too much for a small ops box that also runs the workers).
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** Longest password taken (characters): longer input is refused before any hashing. */
export const MAX_PASSWORD_LENGTH = 1024;

const SALT_BYTES = 16;
const HASH_BYTES = 32;

/** What a stored hash is made of, once read. */
interface StoredHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function derive(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  // NFC: the same password typed on systems that compose accents differently is the same password.
  const bytes = Buffer.from(password.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => scrypt(bytes, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** A new salted hash of `password`, in the stored form. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * The parts of a stored hash, or undefined when it is not one this code wrote (or its cost is out of the
 * bounds below: a hand-edited N = 2^30 must not take the dashboard's memory).
 */
export function parsePasswordHash(stored: string): StoredHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^[1-9][0-9]{0,7}$/.test(part) ? Number(part) : Number.NaN)) as [number, number, number];
  const isPowerOfTwo = Number.isInteger(Math.log2(N));
  if (!isPowerOfTwo || N < 2 ** 10 || N > 2 ** 20 || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) return undefined;
  if (128 * N * r > 512 * 1024 * 1024) return undefined;
  const [salt, hash] = parts.slice(4).map((part) => (/^[A-Za-z0-9_-]+$/.test(part) ? Buffer.from(part, 'base64url') : Buffer.alloc(0))) as [Buffer, Buffer];
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt, hash };
}

/** Does `password` match `stored`? The comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (parsed === undefined) return false;
  const candidate = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}

/**
 * A short digest of a stored hash: a session remembers it and dies when it changes (a new password, or
 * the user removed). It reveals nothing usable about the hash.
 */
export function passwordFingerprint(stored: string): string {
  return createHash('sha256').update(`bench-worker dashboard session\0${stored}`).digest('hex').slice(0, 32);
}
