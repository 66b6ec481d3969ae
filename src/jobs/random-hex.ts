/**
 * Random 12-hex-digit tokens (6 random bytes) for incarnation nonces and ticket id suffixes, drawn
 * from a pooled buffer: `randomBytes(6)` per token made one `randomFillSync` system call per job
 * (~9 µs of client CPU per managed job here); the pool makes one per {@link POOL_TOKENS} tokens, as
 * `crypto.randomUUID` does. Same bytes source (the CSPRNG), same format as `randomBytes(6).toString('hex')`.
 */
import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 6;
/** Tokens per refill of the pool. */
const POOL_TOKENS = 512;
const pool = Buffer.allocUnsafe(TOKEN_BYTES * POOL_TOKENS);
/** Offset of the next unused token; at the end, the pool is refilled. */
let next = pool.length;

/** 6 fresh random bytes as 12 lowercase hex digits (each byte is used once). */
export function randomHex12(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const token = pool.toString('hex', next, next + TOKEN_BYTES);
  next += TOKEN_BYTES;
  return token;
}
