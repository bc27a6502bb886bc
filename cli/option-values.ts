/** Option values checked when the command line is read, before any connection is made. */
import { InvalidArgumentError } from 'commander';

/** A commander parser for a comma-separated list whose items must be among `allowed`. */
export function listOf<T extends string>(what: string, allowed: readonly T[]): (value: string) => Set<T> {
  return (value) => {
    const items = value.split(',').map((k) => k.trim()).filter(Boolean);
    const wrong = items.filter((k) => !(allowed as readonly string[]).includes(k));
    if (items.length === 0 || wrong.length > 0) {
      throw new InvalidArgumentError(`${wrong.length > 0 ? wrong.map((w) => `"${w}"`).join(', ') : 'nothing'} is not ${what}; give one or more of ${allowed.join(', ')}.`);
    }
    return new Set(items as T[]);
  };
}
