// The console's bearer token: asked for in the page's dialog (#token-dialog) when the server wants it —
// to approve a plan, or for every request when netform was started with --ui-token-file — and kept in
// sessionStorage only (this tab, until it closes). A token the server refuses is forgotten at once.

export const TOKEN_KEY = 'netform.console.token';

/** @returns {string | undefined} */
export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** @param {string} token */
export function keepToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** @param {string | undefined} token @returns {Record<string, string>} */
export function authHeaders(token) {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** @type {Promise<string | null> | undefined} one dialog at a time: a second asker waits for the same answer */
let asking;

/**
 * Asks for the token.
 * @param {object} o
 * @param {string} o.title the dialog's heading
 * @param {string} o.what what it is for
 * @param {string} [o.problem] why it asks again, if it does
 * @param {string} o.confirm the confirming button's text
 * @returns {Promise<string | null>} null when cancelled
 */
export function askToken({ title, what, problem = '', confirm }) {
  if (asking) return asking;
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const set = (/** @type {string} */ id, /** @type {string} */ text) => {
    const el = /** @type {HTMLElement} */ (document.getElementById(id));
    el.textContent = text;
    el.hidden = !text;
  };
  set('token-title', title);
  set('token-what', what);
  set('token-problem', problem);
  set('token-confirm', confirm);
  input.value = '';
  asking = new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const token = dialog.returnValue === 'ok' ? input.value.trim() : '';
        input.value = '';
        asking = undefined;
        resolve(token || null);
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
    input.focus();
  });
  return asking;
}
