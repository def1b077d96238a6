/** Calls to the service's API with the admin session (cookie) and its CSRF token. */
let csrf = '';

export interface Session {
  subject: string;
  method: string;
  expires: string;
  csrf: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The session, or null when signed out (the page then goes to the sign-in page). */
export async function loadSession(): Promise<Session | null> {
  const res = await fetch('session', { credentials: 'same-origin' });
  if (res.status === 401) return null;
  const session = (await res.json()) as Session;
  csrf = session.csrf;
  return session;
}

export async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    location.href = 'login';
    throw new ApiError(401, 'signed out');
  }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? data?.message ?? `${res.status} ${res.statusText}`);
  return data as T;
}

export async function signOut(): Promise<void> {
  await fetch('logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin' });
  location.href = 'login';
}
