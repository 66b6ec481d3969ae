/**
 * Operator-facing parsing and redaction: human durations (`7d`, `12h`, `1h30m`) and the payload
 * redactor the dashboard applies before anything reaches a browser.
 */
import { describe, expect, it } from 'vitest';
import { createRedactor, DEFAULT_REDACTED_FIELDS, formatDuration, parseDuration, REDACTED } from 'clusterkit/ops';

describe('parseDuration', () => {
  it('reads days, hours, minutes, seconds, milliseconds, weeks and combinations', () => {
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration(' 2D ')).toBe(172_800_000);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('0s')).toBe(0);
  });

  it('refuses anything else with INVALID_OPTION naming the flag', () => {
    for (const bad of ['', '7 days', '-1h', 'h', '1y', '1h 30m', '5mss']) {
      expect(() => parseDuration(bad, '--before'), bad).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringContaining('--before') }),
      );
    }
  });

  it('formats durations for tables', () => {
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(4_200)).toBe('4.2s');
    expect(formatDuration(190_000)).toBe('3m 10s');
    expect(formatDuration(7_500_000)).toBe('2h 5m');
    expect(formatDuration(277_200_000)).toBe('3d 5h');
    expect(formatDuration(3_600_000)).toBe('1h');
  });
});

describe('createRedactor', () => {
  it('replaces listed fields at any depth, ignoring case, - and _', () => {
    const redact = createRedactor(['password', 'apiKey']);
    const input = {
      user: 'ann',
      Password: 'x',
      nested: [{ api_key: 'k', 'API-KEY': 'k2', keep: 1 }],
      apiKeys: ['not redacted'],
    };
    expect(redact(input)).toEqual({
      user: 'ann',
      Password: REDACTED,
      nested: [{ api_key: REDACTED, 'API-KEY': REDACTED, keep: 1 }],
      apiKeys: ['not redacted'],
    });
    expect(input.Password).toBe('x');
  });

  it('redacts common secret names by default, and nothing with an empty list', () => {
    expect(createRedactor()({ token: 't', secret: 's', authorization: 'Bearer x', email: 'e' })).toEqual({
      token: REDACTED,
      secret: REDACTED,
      authorization: REDACTED,
      email: 'e',
    });
    expect(createRedactor()({ smtpPassword: 'p', db: { Client_Secret: 'c' }, tokens: 'x', passport: 'ok' })).toEqual({
      smtpPassword: REDACTED,
      db: { Client_Secret: REDACTED },
      tokens: REDACTED,
      passport: 'ok',
    });
    expect(DEFAULT_REDACTED_FIELDS).toContain('*password*');
    expect(createRedactor(['user*'])({ userName: 'u', username: 'v', name: 'n' })).toEqual({
      userName: REDACTED,
      username: REDACTED,
      name: 'n',
    });
    const value = { password: 'p' };
    expect(createRedactor([])(value)).toBe(value);
    expect(createRedactor()('plain string')).toBe('plain string');
  });
});
