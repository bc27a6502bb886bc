/** The `store:` setting's database URL, apart from the `pg` client (slow to load: only a controller with a database loads it). */

/** Whether the `store:` setting names a PostgreSQL database. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\//.test(store);
}

/** `url` with its password shown as `***`: the URL as it may be logged. */
export function maskedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(a store URL that is not a valid URL)';
  }
}
