// API client for the key service (docs/api.md).
//
// Every call resolves with the parsed JSON body, or rejects with an ApiError
// whose message is a sentence fit to show a person: the server's `detail`
// when it sent one, otherwise a description of what went wrong.

const TIMEOUT_MS = 15000;
// A verify waits for the provider: the service gives up after
// GOFANNON_LLM_TIMEOUT, at most 30 s, so the page waits a little longer.
const VERIFY_TIMEOUT_MS = 40000;

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached
  }
}

async function request(method, path, body, { timeout = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const init = {
    method,
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
    cache: 'no-store',
    signal: controller.signal,
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    const timedOut = err && err.name === 'AbortError';
    throw new ApiError(timedOut
      ? 'The server took too long to answer. Please try again.'
      : 'Could not reach the server. Check your connection and try again.', 0);
  } finally {
    clearTimeout(timer);
  }

  let data;
  try {
    data = await response.json();
  } catch {
    data = null; // e.g. an HTML error page from a proxy
  }

  if (!response.ok) {
    const detail = data && typeof data.detail === 'string' && data.detail
      ? data.detail
      : `The server answered with an error (HTTP ${response.status}).`;
    throw new ApiError(detail, response.status);
  }
  if (data === null || typeof data !== 'object') {
    throw new ApiError('The server sent an answer this page cannot read.', response.status);
  }
  return data;
}

/** The signed-in user: {id}. */
export function getMe() {
  return request('GET', '/api/users/me');
}

/** Providers in display order with the user's key status (docs/api.md, Provider status). */
export async function getProviders() {
  const data = await request('GET', '/api/providers');
  if (!Array.isArray(data.providers)) {
    throw new ApiError('The server sent an answer this page cannot read.', 200);
  }
  return data.providers;
}

/**
 * Store or replace the user's key, expiring in `expiresInDays` days (1-365)
 * or never (null); resolves with the masked key map.
 */
export function saveKey(providerId, apiKey, expiresInDays = null) {
  const body = { provider: providerId, apiKey };
  if (expiresInDays !== null) body.expiresInDays = expiresInDays;
  return request('PUT', '/api/users/me/api-keys', body);
}

/** Remove the user's key; resolves with the masked key map. */
export function removeKey(providerId) {
  return request('DELETE', `/api/users/me/api-keys/${encodeURIComponent(providerId)}`);
}

/**
 * Ask the provider whether a key works (docs/llm.md). Without `apiKey` the
 * effective key (the user's, else the system-wide one) is checked; with it,
 * that candidate is checked and not stored. Resolves with
 * {provider, source, valid, detail}: valid is true (accepted), false
 * (rejected) or null (could not check; detail says why).
 */
export async function verifyKey(providerId, apiKey) {
  const data = await request('POST',
    `/api/users/me/api-keys/${encodeURIComponent(providerId)}/verify`,
    apiKey === undefined ? {} : { apiKey }, { timeout: VERIFY_TIMEOUT_MS });
  if (typeof data.detail !== 'string' || !(data.valid === true || data.valid === false || data.valid === null)) {
    throw new ApiError('The server sent an answer this page cannot read.', 200);
  }
  return data;
}

/**
 * One page of the user's key activity, newest first (docs/api.md, Activity):
 * {entries: [{id, at, action, provider, source, by, client, result?,
 * status?}], cursor}; `cursor` (the id of the last entry, or null when
 * nothing is older) asks for the next page. Entries without an id, a time
 * or an action are left out.
 */
export async function getActivity({ limit = 20, cursor = null } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  const data = await request('GET', `/api/users/me/api-keys/activity?${query}`);
  if (!Array.isArray(data.entries)) {
    throw new ApiError('The server sent an answer this page cannot read.', 200);
  }
  const entries = data.entries.filter((e) => e && typeof e.id === 'string' &&
    typeof e.at === 'string' && typeof e.action === 'string');
  return { entries, cursor: typeof data.cursor === 'string' && data.cursor ? data.cursor : null };
}

/**
 * This month's usage: {month, providers: {id: {requests, inputTokens,
 * outputTokens}}}. Entries that are not three numbers are left out.
 */
export async function getUsage() {
  const data = await request('GET', '/api/users/me/usage');
  const providers = {};
  if (data.providers && typeof data.providers === 'object') {
    for (const [id, u] of Object.entries(data.providers)) {
      if (u && ['requests', 'inputTokens', 'outputTokens'].every((f) => Number.isFinite(u[f]) && u[f] >= 0)) {
        providers[id] = { requests: u.requests, inputTokens: u.inputTokens, outputTokens: u.outputTokens };
      }
    }
  }
  return { month: typeof data.month === 'string' ? data.month : null, providers };
}
