import { PlatformError } from '../domain/errors.js';

/** The two profiles; a profile only fills defaults, every backend stays selectable on its own. */
export type Profile = 'local' | 'gcp';

/** The profiles in the order the README's configuration table shows their defaults. */
export const PROFILES: readonly Profile[] = ['local', 'gcp'];

/** An option's default value per profile, as its variable would hold it. */
export type ProfileDefaults = Partial<Record<Profile, string>>;

/**
 * One setting: its environment variable, what it expects, per-profile default and parser. `env` is
 * the one place the variable's name is written; everything else refers to it (see ENV in env.ts).
 */
export interface OptionSpec<T, Name extends string = string, Defaults extends ProfileDefaults = ProfileDefaults> {
  env: Name;
  /** What a valid value looks like; error messages say "expected <expects>". */
  expects: string;
  /** What the setting does, in Markdown, for the README's configuration table. */
  description: string;
  defaults: Defaults;
  /** Set where a profile has no default and the value is needed: documented as "required" there. */
  required?: true;
  parse: (raw: string) => T | undefined;
}

/** Declares an option; parse returns undefined for a value it rejects. */
export function option<T, const Name extends string, const Defaults extends ProfileDefaults>(
  spec: OptionSpec<T, Name, Defaults>,
): OptionSpec<T, Name, Defaults> {
  return spec;
}

/** Parses a value from one of a fixed set of strings. */
export function oneOf<const T extends string>(...values: T[]): (raw: string) => T | undefined {
  return (raw) => ((values as string[]).includes(raw) ? (raw as T) : undefined);
}

/** Accepts any non-empty string. */
export const text = (raw: string): string | undefined => (raw.trim() === '' ? undefined : raw.trim());

/** Accepts a positive integer. */
export const positiveInteger = (raw: string): number | undefined => {
  const value = Number(raw);
  return Number.isInteger(value) && value > 0 ? value : undefined;
};

/** Accepts a finite number, 0 or more. */
export const nonNegativeNumber = (raw: string): number | undefined => {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
};

/** Accepts true/false, 1/0, yes/no. */
export const boolean = (raw: string): boolean | undefined => {
  const normalised = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(normalised)) return true;
  if (['false', '0', 'no'].includes(normalised)) return false;
  return undefined;
};

/** Accepts a comma-separated list (possibly empty). */
export const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * The profile itself, read before any other option (so it has only the local default): the one
 * declaration the platform's and the monitoring settings share.
 */
export const PROFILE = option({
  env: 'MLOPS_PROFILE',
  expects: '"local" or "gcp"',
  description: 'fills the defaults of every other setting; each backend stays selectable on its own',
  defaults: { local: 'local' },
  parse: oneOf('local', 'gcp'),
});

/** The profile env selects, `local` when unset; throws CONFIG.INVALID on any other value. */
export function readProfile(env: Record<string, string | undefined>): Profile {
  return readOption(PROFILE, env, 'local') ?? 'local';
}

/**
 * Reads one option from env, falling back to the profile default. Returns undefined when the
 * option is unset with no default; throws CONFIG.INVALID naming the variable when the value is bad.
 */
export function readOption<T>(spec: OptionSpec<T>, env: Record<string, string | undefined>, profile: Profile): T | undefined {
  const raw = env[spec.env] ?? spec.defaults[profile];
  if (raw === undefined) return undefined;
  const value = spec.parse(raw);
  if (value === undefined) {
    throw new PlatformError('CONFIG.INVALID', `${spec.env}=${JSON.stringify(raw)} is invalid: expected ${spec.expects}.`, {
      details: { variable: spec.env },
    });
  }
  return value;
}

/** Like readOption, but a missing value is an error that says which variable to set. */
export function requireOption<T>(spec: OptionSpec<T>, env: Record<string, string | undefined>, profile: Profile, why: string): T {
  const value = readOption(spec, env, profile);
  if (value === undefined) {
    throw new PlatformError('CONFIG.INVALID', `${spec.env} is not set: expected ${spec.expects} (${why}).`, {
      details: { variable: spec.env },
    });
  }
  return value;
}
