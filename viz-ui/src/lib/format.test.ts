// Tests of the display formatters (local time zone, so built from local dates).
import { describe, expect, it } from 'vitest';
import { formatClock, formatDateTime, formatDuration, middleEllipsis } from './format';

describe('format', () => {
  const us = new Date(2025, 10, 27, 9, 5, 7, 42).getTime() * 1000 + 999;

  it('clock is HH:MM:SS.mmm local', () => expect(formatClock(us)).toBe('09:05:07.042'));
  it('date-time is local', () => expect(formatDateTime(us)).toBe('2025-11-27 09:05:07'));
  it('durations pick a unit', () => {
    expect([null, 850, 12_345, 4_561_000, 187e6, 7500e6].map(formatDuration)).toEqual([
      '—',
      '850µs',
      '12.3ms',
      '4.56s',
      '3m 07s',
      '2h 05m',
    ]);
  });

  it('cuts long ids in the middle, keeping the distinctive end', () => {
    expect(middleEllipsis('swarm-20261128-003347-7a5f45', 24)).toBe('swarm-202…-003347-7a5f45');
    expect(middleEllipsis('swarm-20261128-003347-7a5f45', 24)).toHaveLength(24);
    expect(middleEllipsis('short')).toBe('short');
  });
});
