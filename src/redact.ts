/**
 * Keeps credentials out of logs. Two ways a secret reaches a log line: a caller puts a token in the query
 * string (`?api_key=…`, which we reject, but the access log used to record the URL as sent), and a URL we
 * were configured with carries its secret in the path or userinfo (a Slack incoming webhook is
 * `https://hooks.slack.com/services/T…/B…/<secret>`; a URL with `user:pass@` makes fetch throw an error
 * whose message repeats the whole URL).
 */

/**
 * Query parameters whose values are kept in the access log. Every other value is replaced: the API's own
 * parameters are all on this list, and a parameter we do not know is exactly where a misplaced token lands.
 */
const HARMLESS_PARAMS = new Set([
  'limit',
  'cursor',
  'repo',
  'service',
  'version',
  'head_sha',
  'weeks',
  'timezone',
  'weight',
  'elapsed_s',
  'risk',
  'window_s',
]);
export const REDACTED = '[redacted]';
/** Longest URL the access log keeps (Node already caps the request line with the 16 KB header limit). */
const MAX_LOGGED_URL = 2048;

/**
 * A request target (`/path?query`) as the access log records it: the path as sent, each query value whose
 * parameter is not on the harmless list replaced by `[redacted]`. Cheap when there is no query string.
 */
export function redactRequestUrl(target: string): string {
  const q = target.indexOf('?');
  const out = q < 0 ? target : target.slice(0, q + 1) + redactQuery(target.slice(q + 1));
  return out.length > MAX_LOGGED_URL ? `${out.slice(0, MAX_LOGGED_URL)}…` : out;
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair.length > 64 ? REDACTED : pair; // a bare value can be a token on its own
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
      } catch {
        return REDACTED;
      }
      return HARMLESS_PARAMS.has(name) ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
    })
    .join('&');
}

/**
 * A configured outbound URL (webhook) as logs may show it: scheme, host and port only. Path, query,
 * fragment and userinfo can each hold the secret, so none is kept; say which webhook by its index.
 */
export function redactOutboundUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname === '/' && !u.search && !u.username ? u.origin : `${u.origin}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/** Any URL inside free text (an error message) reduced to its origin, as `redactOutboundUrl` does. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => redactOutboundUrl(m));
}
