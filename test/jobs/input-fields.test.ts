/**
 * `enqueue`'s one-pass read of its input (src/jobs/input-fields.ts): the same fields and the same
 * errors as reading the input property by property, for plain objects (own keys), objects of
 * other shapes (inherited fields count, as before) and unknown keys.
 */
import { describe, expect, it } from 'vitest';
import { ClusterError, ErrorCodes } from '../../src/errors.js';
import { recordFromInput } from '../../src/jobs/enqueue-input.js';
import { INPUT_KEYS, inputFields } from '../../src/jobs/input-fields.js';
import { assertOptions } from '../../src/validation.js';

const DEFAULTS = { attempts: 1, maxPayloadBytes: 1_048_576 };
const JOB = { pluginName: 'p', queueName: 'q', jobName: 'j' } as const;

function thrown(f: () => unknown): ClusterError {
  try {
    f();
  } catch (error) {
    return error as ClusterError;
  }
  throw new Error('expected a throw');
}

describe('enqueue input fields', () => {
  it('reads a spread plain object, a null-prototype object and a class instance alike', () => {
    const plain = { ...JOB, payload: { a: 1 }, priority: 5, delayMs: 10, tenantId: 't' };
    const bare = Object.assign(Object.create(null) as object, plain);
    class Input {
      readonly pluginName = 'p';
      readonly queueName = 'q';
      readonly jobName = 'j';
      readonly tenantId = 't';
      get payload() {
        return { a: 1 };
      }
      get priority() {
        return 5;
      }
      get delayMs() {
        return 10;
      }
    }
    for (const input of [plain, bare, new Input()]) {
      const f = inputFields('managedQueue.enqueue', input);
      expect(f).toMatchObject({ ...JOB, payload: { a: 1 }, hasPayload: true, priority: 5, delayMs: 10, tenantId: 't' });
      const record = recordFromInput(input as never, DEFAULTS);
      expect(record).toMatchObject({
        ...JOB,
        payload: { a: 1 },
        priority: 5,
        delayMs: 10,
        state: 'delayed',
        tenantId: 't',
      });
    }
  });

  it('inherited fields of a non-plain object count (as `input.field` read them)', () => {
    const input = Object.create({ ...JOB, payload: 'inherited' }) as object;
    expect(inputFields('managedQueue.enqueue', input)).toMatchObject({
      ...JOB,
      payload: 'inherited',
      hasPayload: true,
    });
  });

  it('a payload given as undefined is given; none is missing', () => {
    expect(inputFields('c', { ...JOB, payload: undefined }).hasPayload).toBe(true);
    expect(inputFields('c', { ...JOB }).hasPayload).toBe(false);
    expect(thrown(() => recordFromInput({ ...JOB } as never, DEFAULTS)).code).toBe(ErrorCodes.INVALID_ARGUMENT);
  });

  it('an unknown key fails as assertOptions does: UNKNOWN_OPTION naming the first one', () => {
    const input = { ...JOB, payload: 1, prio: 1, other: 2 };
    const ours = thrown(() => recordFromInput(input as never, DEFAULTS));
    const theirs = thrown(() => assertOptions('managedQueue.enqueue', input, [...INPUT_KEYS]));
    expect(ours.code).toBe(ErrorCodes.UNKNOWN_OPTION);
    expect(ours.message).toBe(theirs.message);
    expect(ours.message).toContain('"prio"');
  });
});
