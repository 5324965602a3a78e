// Dashboard API tokens (sent as `Authorization: Bearer bwd_…`): 32 random bytes, base64url, prefixed
// "bwd_" so that a leaked one is recognisable (secret scanners, logs). Only the token's sha256 (hex) is
// stored, in dashboard_users[name].tokens; a token is found by hashing what was presented and comparing
// it with every stored hash in constant time (the time depends on the number of tokens, not on them).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DashboardUserConfig } from '../../config/schema.js';

export const API_TOKEN_PREFIX = 'bwd_';

const TOKEN_SHAPE = /^bwd_[A-Za-z0-9_-]{43}$/;

/** A new token (shown once) and the hash to store. */
export function newApiToken(): { token: string; hash: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashApiToken(token) };
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The name of the user holding `token`, or undefined (not a token of ours, or of nobody configured). */
export function findTokenUser(users: Readonly<Record<string, DashboardUserConfig>>, token: string): string | undefined {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const presented = Buffer.from(hashApiToken(token), 'hex');
  let owner: string | undefined;
  for (const [name, user] of Object.entries(users)) {
    for (const stored of user.tokens ?? []) {
      const storedBytes = Buffer.from(stored, 'hex');
      // Every hash is compared (no early exit), so the time does not tell which one matched.
      if (storedBytes.length === presented.length && timingSafeEqual(storedBytes, presented) && owner === undefined) owner = name;
    }
  }
  return owner;
}
