import { describe, expect, it } from 'vitest';
import { randomHex12 } from '../../src/jobs/random-hex.js';

describe('randomHex12 (pooled nonces)', () => {
  it('gives 12 lowercase hex digits, never the same token twice across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i += 1) {
      const token = randomHex12();
      expect(token).toMatch(/^[0-9a-f]{12}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(5_000);
  });
});
