/** MQTT topic filters: `+` matches one level, `#` (last) the rest, including the parent level. */

/**
 * True when every topic `other` matches is also matched by `filter`. `other` is usually a plain
 * topic (then: does `filter` match it); a filter for the broker's ACL (is a subscription within
 * what a client may read).
 */
export function filterCovers(filter: string, other: string): boolean {
  const f = filter.split('/');
  const o = other.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= o.length || o[i] === '#') return false;
    if (f[i] !== '+' && (o[i] === '+' || o[i] !== f[i])) return false;
  }
  return f.length === o.length;
}

/**
 * The topic filter of a subscription: `$share/<group>/<filter>` (an MQTT shared subscription)
 * delivers messages with their own topics, which `<filter>` matches.
 */
export function subscriptionFilter(subscription: string): string {
  if (!subscription.startsWith('$share/')) return subscription;
  const groupEnd = subscription.indexOf('/', '$share/'.length);
  return groupEnd < 0 ? subscription : subscription.slice(groupEnd + 1);
}
