// The console's one action: approving an object's pending plan — POST /api/v1/approve {key, digest}
// with the bearer token (lib/token.js: asked for when the tab has none; a refused one is forgotten).

import { askToken, authHeaders, forgetToken, keepToken, storedToken } from './token.js';

/**
 * @param {Response} res
 * @returns {Promise<string>}
 */
export async function messageOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text);
    if (j && typeof j.message === 'string') return j.message;
    if (j && typeof j.error === 'string') return j.error;
  } catch {
    /* plain text */
  }
  return text.trim() || res.statusText;
}

/**
 * @param {(text: string) => void} announce
 * @returns {(key: string, digest: string, what: string) => Promise<boolean>}
 */
export function createApprover(announce) {
  return async (key, digest, what) => {
    let problem = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      let token = storedToken();
      if (!token) {
        token = (await askToken({ title: 'Approve with the token', what, problem, confirm: 'Approve' })) ?? undefined;
        if (!token) {
          announce(`Approval of ${key} cancelled`);
          return false;
        }
      }
      let res;
      try {
        res = await fetch('/api/v1/approve', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders(token) },
          body: JSON.stringify({ key, digest }),
        });
      } catch (e) {
        announce(`Approval of ${key} failed: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      const message = await messageOf(res);
      if (res.status === 401 || res.status === 403) {
        forgetToken();
        problem = `The server refused: ${message}`;
        continue;
      }
      keepToken(token);
      if (res.ok) {
        announce(`Approved ${key} (plan ${digest.slice(0, 19)})${message ? `: ${message}` : ''}`);
        return true;
      }
      announce(`${key} not approved (${res.status})${message ? `: ${message}` : ''}`);
      return false;
    }
    announce(`Approval of ${key} refused: ${problem}`);
    return false;
  };
}
