/** Data calls: same origin only, bearer key from sessionStorage (gone when the tab closes). */
const KEY = 'riskgate.apiKey';

export class AuthNeeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthNeeded';
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const getKey = (): string | null => sessionStorage.getItem(KEY);
export const setKey = (k: string): void => sessionStorage.setItem(KEY, k);
export const clearKey = (): void => sessionStorage.removeItem(KEY);

export async function session(): Promise<{ auth_required: boolean; timezone: string }> {
  const r = await fetch('/ui/api/session', { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new ApiError(r.status, `session check failed (HTTP ${r.status})`);
  return r.json();
}

export async function api<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const headers: Record<string, string> = { Accept: 'application/json' };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(`/ui/api/${path}${q.size ? `?${q}` : ''}`, { headers });
  if (r.status === 401 || r.status === 403) {
    const body = await r.json().catch(() => ({}));
    if (r.status === 401) clearKey();
    throw new AuthNeeded(body.message ?? (r.status === 401 ? 'API key required' : 'this key lacks the "score" scope'));
  }
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    const details = Array.isArray(body.details)
      ? ` (${body.details.map((d: { path: string; message: string }) => `${d.path}: ${d.message}`).join('; ')})`
      : '';
    throw new ApiError(r.status, `${body.message ?? `HTTP ${r.status}`}${details}`);
  }
  return r.json() as Promise<T>;
}
