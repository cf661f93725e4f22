/** A parsed five-field cron expression (minute hour day-of-month month day-of-week), UTC. */
export interface CronSchedule {
  matches(date: Date): boolean;
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** Parses `*`, numbers, lists, ranges and steps (e.g. every 15 minutes: a star, a slash, 15); throws on anything else. */
export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`Cron expression "${expression}" must have 5 fields (minute hour day month weekday).`);
  const sets = parts.map((part, index) => parseField(part, FIELDS[index]!));
  const [minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  // As in cron and Cloud Scheduler: when both day fields are restricted, either one may match.
  const bothDaysRestricted = parts[2] !== '*' && parts[4] !== '*';
  const dayMatches = (date: Date) =>
    bothDaysRestricted ? days.has(date.getUTCDate()) || weekdays.has(date.getUTCDay()) : days.has(date.getUTCDate()) && weekdays.has(date.getUTCDay());
  return {
    matches: (date) => minutes.has(date.getUTCMinutes()) && hours.has(date.getUTCHours()) && months.has(date.getUTCMonth() + 1) && dayMatches(date),
  };
}

function parseField(part: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of part.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`Cron ${field.name} field "${part}" is not understood.`);
    const start = match[1] === '*' ? field.min : Number(match[2]);
    const end = match[1] === '*' ? field.max : match[3] !== undefined ? Number(match[3]) : match[4] !== undefined ? field.max : start;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (start < field.min || end > field.max || start > end || step < 1)
      throw new Error(`Cron ${field.name} field "${part}" is out of range ${field.min}-${field.max}.`);
    for (let value = start; value <= end; value += step) values.add(value);
  }
  return values;
}
