/**
 * The one redactor for secrets in text meant for people, logs, events and exports: URL passwords
 * (`ipmi://admin:***@bmc`, also inside `sol:ipmi://…` and anywhere in a line) and secret query
 * values (`?token=***`), and any `…token=` anywhere (`muster.token=***` on a kernel command line).
 * Pure; works on strings that are not valid URLs.
 */

/** Query parameters whose values are secrets (`?token=…`). */
export const isSecretParam = (key: string): boolean => SECRET_PARAM.test(key);
const SECRET_PARAM = /^(pass(word)?|pw|token|secret|key|api[-_]?key|auth)$/i;

// A password runs to the last `@` before the host: it may contain `@`, never `/` or a space.
const URL_PASSWORD = /(\/\/[^/:@\s]*:)[^\s/]*@/g;
const SECRET_QUERY = /([?&;])(pass(?:word)?|pw|token|secret|key|api[-_]?key|auth)=[^&#\s]*/gi;
// A token's value runs to the next space, quote or query separator.
const ANY_TOKEN = /([\w.-]*token)=[^&#\s"']*/gi;

export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@').replace(SECRET_QUERY, '$1$2=***').replace(ANY_TOKEN, '$1=***');
}

/** For optional fields: null stays null. */
export function redactOptional(text: string | null): string | null {
  return text === null ? null : redactSecrets(text);
}
