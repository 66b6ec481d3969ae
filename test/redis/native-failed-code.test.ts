/**
 * The native engine's failure-code mark (adapters/redis/native-failed-code.ts), without Redis: what
 * the worker hands BullMQ, how a `Job`'s in-memory stack is read back, and when a hash's `fc` counts.
 */
import { describe, expect, it } from 'vitest';
import { codeOfField, markedWithCode, unmarkStacktrace } from '../../adapters/redis/native-failed-code.js';

describe('native failure code mark', () => {
  it('marks a stack with the code and reads it back (any characters, lengths in bytes)', () => {
    for (const code of ['PAYMENT_DECLINED', 'ümlaut:code\nwith newline', 'x']) {
      const original = Object.assign(new TypeError('boom'), { code });
      const marked = markedWithCode(original, code, (m) => new Error(m));
      expect(marked).toMatchObject({ name: 'TypeError', message: 'boom' });
      const read = unmarkStacktrace(['older stack', marked.stack!]);
      expect(read).toEqual({ stacktrace: ['older stack', original.stack], code });
    }
    expect(unmarkStacktrace(['plain'])).toEqual({ stacktrace: ['plain'] });
    expect(unmarkStacktrace([])).toEqual({ stacktrace: [] });
  });

  it("counts a hash's fc only for the failure it was written with", () => {
    expect(codeOfField(JSON.stringify(['E_CODE', 'it failed']), 'it failed')).toBe('E_CODE');
    // A later failure BullMQ recorded on its own (its stalled check): an older fc is not its code.
    expect(
      codeOfField(JSON.stringify(['E_CODE', 'it failed']), 'job stalled more than allowable limit'),
    ).toBeUndefined();
    expect(codeOfField(undefined, 'it failed')).toBeUndefined();
    expect(codeOfField('not json', 'it failed')).toBeUndefined();
    expect(codeOfField(JSON.stringify(['E_CODE', 'it failed']), undefined)).toBeUndefined();
  });
});
