import { describe, expect, it } from 'vitest';
import { parseCron } from '../../../../shared/domain/cron.js';

/** Every minute of one UTC day (2024-06-10, a Monday), as Dates. */
function minutesOf(day = '2024-06-10'): Date[] {
  const start = Date.parse(`${day}T00:00:00Z`);
  return Array.from({ length: 24 * 60 }, (_, minute) => new Date(start + minute * 60_000));
}

/** The HH:MM of every minute in the day that `expression` fires. */
function firingTimes(expression: string, day?: string): string[] {
  const schedule = parseCron(expression);
  return minutesOf(day)
    .filter((date) => schedule.matches(date))
    .map((date) => date.toISOString().slice(11, 16));
}

/** Midnight UTC of each day in June 2024 that `expression` fires on. */
function firingDaysOfJune(expression: string): number[] {
  const schedule = parseCron(expression);
  return Array.from({ length: 30 }, (_, index) => index + 1).filter((day) => schedule.matches(new Date(Date.UTC(2024, 5, day))));
}

describe('parseCron: matching', () => {
  it('"0 * * * *" fires once an hour, on the hour', () => {
    const times = firingTimes('0 * * * *');

    expect(times).toHaveLength(24);
    expect(times.every((time) => time.endsWith(':00'))).toBe(true);
    expect(parseCron('0 * * * *').matches(new Date('2024-06-10T13:01:00Z'))).toBe(false);
  });

  it('"*/15 * * * *" fires at 0, 15, 30 and 45 past each hour', () => {
    const times = firingTimes('*/15 * * * *');

    expect(times).toHaveLength(96);
    expect(times.slice(0, 5)).toEqual(['00:00', '00:15', '00:30', '00:45', '01:00']);
  });

  it('lists fire on each listed value', () => {
    expect(firingTimes('0,30 9,17 * * *')).toEqual(['09:00', '09:30', '17:00', '17:30']);
  });

  it('ranges are inclusive, and can carry a step', () => {
    expect(firingTimes('0 9-11 * * *')).toEqual(['09:00', '10:00', '11:00']);
    expect(firingTimes('0 8-18/4 * * *')).toEqual(['08:00', '12:00', '16:00']);
  });

  it('a single value with a step runs from that value to the end of the field', () => {
    expect(firingTimes('50/5 3 * * *')).toEqual(['03:50', '03:55']);
  });

  it('reads the date in UTC', () => {
    const schedule = parseCron('30 2 * * *');
    expect(schedule.matches(new Date('2024-06-10T02:30:00Z'))).toBe(true);
    expect(schedule.matches(new Date('2024-06-10T02:30:00+02:00'))).toBe(false);
  });

  it('matches day of month and month', () => {
    const newYear = parseCron('0 0 1 1 *');
    expect(newYear.matches(new Date('2025-01-01T00:00:00Z'))).toBe(true);
    expect(newYear.matches(new Date('2025-02-01T00:00:00Z'))).toBe(false);
    expect(newYear.matches(new Date('2025-01-02T00:00:00Z'))).toBe(false);
  });

  it('weekday 7 means Sunday, the same as 0', () => {
    // June 2024: Sundays are the 2nd, 9th, 16th, 23rd and 30th.
    expect(firingDaysOfJune('0 0 * * 7')).toEqual([2, 9, 16, 23, 30]);
    expect(firingDaysOfJune('0 0 * * 0')).toEqual([2, 9, 16, 23, 30]);
  });

  it('a weekday range ending in 7 includes Sunday', () => {
    // Friday to Sunday.
    expect(firingDaysOfJune('0 0 * * 5-7')).toEqual([1, 2, 7, 8, 9, 14, 15, 16, 21, 22, 23, 28, 29, 30]);
  });

  it('weekdays 1-5 skip the weekend', () => {
    expect(firingDaysOfJune('0 0 * * 1-5')).not.toContain(1);
    expect(firingDaysOfJune('0 0 * * 1-5')).toHaveLength(20);
  });

  // Cloud Scheduler (unix-cron): when both day of month and day of week are restricted, a day
  // matching either one fires. "0 0 1 * 1" is the 1st of the month plus every Monday.
  it('restricted day of month and day of week combine with OR, as in Cloud Scheduler', () => {
    // June 2024: the 1st is a Saturday; Mondays are the 3rd, 10th, 17th and 24th.
    expect(firingDaysOfJune('0 0 1 * 1')).toEqual([1, 3, 10, 17, 24]);
  });

  it('ignores surrounding and repeated whitespace', () => {
    expect(firingTimes('  0   12 * *  * ')).toEqual(['12:00']);
  });
});

describe('parseCron: bad expressions', () => {
  it.each([
    ['0 * * *', /must have 5 fields/],
    ['0 * * * * *', /must have 5 fields/],
    ['', /must have 5 fields/],
    ['61 * * * *', /minute field "61" is out of range 0-59/],
    ['a * * * *', /minute field "a" is not understood/],
    ['0 24 * * *', /hour field "24" is out of range 0-23/],
    ['0 0 0 * *', /day of month field "0" is out of range 1-31/],
    ['0 0 * 13 *', /month field "13" is out of range 1-12/],
    ['0 0 * * 8', /day of week field "8" is out of range 0-7/],
    ['0 17-9 * * *', /hour field "17-9" is out of range/],
    ['*/0 * * * *', /minute field "\*\/0" is out of range/],
    ['0,,5 * * * *', /minute field "0,,5" is not understood/],
    ['0 9 * * MON', /day of week field "MON" is not understood/],
  ])('%j is refused with a message naming the field', (expression, message) => {
    expect(() => parseCron(expression)).toThrowError(message);
  });
});
