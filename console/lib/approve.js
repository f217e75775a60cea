// The console's one action: approving an object's pending plan (POST /api/v1/approve {key, digest}
// with the bearer token). The token is asked for in a dialog when the tab has none and kept in
// sessionStorage only (gone when the tab closes); a token the server refuses is forgotten at once.

const TOKEN_KEY = 'netform.console.token';

/**
 * Asks for the token in the page's dialog (#token-dialog).
 * @param {string} what what is being approved, shown in the dialog
 * @param {string} problem why it asks again, if it does
 * @returns {Promise<string | null>}
 */
function askToken(what, problem) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const whatEl = /** @type {HTMLElement} */ (document.getElementById('token-what'));
  const problemEl = /** @type {HTMLElement} */ (document.getElementById('token-problem'));
  whatEl.textContent = what;
  problemEl.textContent = problem;
  problemEl.hidden = !problem;
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const token = dialog.returnValue === 'ok' ? input.value.trim() : '';
        input.value = '';
        resolve(token || null);
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

/**
 * @param {Response} res
 * @returns {Promise<string>}
 */
async function messageOf(res) {
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
    for (let attempt = 0; attempt < 3; attempt++) {
      let token = sessionStorage.getItem(TOKEN_KEY);
      if (!token) {
        token = await askToken(what, attempt > 0 ? 'The server refused that token. Enter it again.' : '');
        if (!token) {
          announce(`Approval of ${key} cancelled`);
          return false;
        }
      }
      let res;
      try {
        res = await fetch('/api/v1/approve', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ key, digest }),
        });
      } catch (e) {
        announce(`Approval of ${key} failed: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      }
      const message = await messageOf(res);
      if (res.status === 401 || res.status === 403) {
        sessionStorage.removeItem(TOKEN_KEY);
        continue;
      }
      sessionStorage.setItem(TOKEN_KEY, token);
      if (res.ok) {
        announce(`Approved ${key} (plan ${digest.slice(0, 12)})${message ? `: ${message}` : ''}`);
        return true;
      }
      announce(`${key} not approved (${res.status})${message ? `: ${message}` : ''}`);
      return false;
    }
    announce(`Approval of ${key} refused: the token was not accepted`);
    return false;
  };
}
