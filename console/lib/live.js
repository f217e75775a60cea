// The one live connection: GET /api/v1/stream, server-sent events read with fetch (an EventSource
// cannot send the Authorization header a console started with --ui-token-file wants on every /api
// request). Asked with ?patch=1, the server sends `event: view` with the whole ConsoleView on connect,
// then `event: patch` with only what changed (lib/patch.js applies it to the view before); pings are
// comments. A patch with no view before it (cannot happen) is dropped. When the stream ends or fails, it is opened again
// after the server's `retry:` (else 1 s), doubling up to 30 s while it keeps failing. A 401/403 asks for
// the token (lib/token.js). Nothing polls.

import { askToken, authHeaders, forgetToken, keepToken, storedToken } from './token.js';
import { messageOf } from './approve.js';
import { applyPatch } from './patch.js';

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {'connecting' | 'live' | 'reconnecting' | 'locked'} LinkState */

export const STREAM = '/api/v1/stream?patch=1';

/**
 * Reads server-sent events from a response body (the event-stream format: `field: value` lines, a
 * blank line ends an event; comments start with ':').
 * @param {ReadableStream<Uint8Array>} body
 * @param {(event: string, data: string) => void} onEvent
 * @param {(ms: number) => void} onRetry
 */
export async function readEvents(body, onEvent, onRetry) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let event = '';
  /** @type {string[]} */
  let data = [];
  /** @type {string[]} the current line's pieces so far (a 4 MB view arrives in many reads) */
  let pieces = [];
  let afterCR = false;
  /** @param {string} line */
  const handle = (line) => {
    if (line === '') {
      if (data.length) onEvent(event || 'message', data.join('\n'));
      event = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const val = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
    if (field === 'event') event = val;
    else if (field === 'data') data.push(val);
    else if (field === 'retry' && /^\d+$/.test(val)) onRetry(Number(val));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let text = decoder.decode(value, { stream: true });
    // A CR that ended the last read and the LF that starts this one are one line break.
    if (afterCR && text.startsWith('\n')) text = text.slice(1);
    afterCR = false;
    // Only the new text is searched for line breaks, never what came before.
    const breaks = /\r\n|\r|\n/g;
    let start = 0;
    for (let m = breaks.exec(text); m; m = breaks.exec(text)) {
      pieces.push(text.slice(start, m.index));
      const line = pieces.length === 1 ? /** @type {string} */ (pieces[0]) : pieces.join('');
      pieces = [];
      start = m.index + m[0].length;
      if (m[0] === '\r' && start === text.length) afterCR = true;
      handle(line);
    }
    if (start < text.length) pieces.push(text.slice(start));
  }
}

/**
 * @param {(view: ConsoleView) => void} onView
 * @param {(state: LinkState, detail?: string) => void} onState
 * @returns {{ close: () => void, unlock: () => void }} unlock: ask for the token again after a cancel
 */
export function connect(onView, onState) {
  const abort = new AbortController();
  let retry = 1000;
  let delay = 1000;
  /** @type {(() => void) | undefined} */
  let wake;
  const sleep = (/** @type {number} */ ms) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve(undefined)), { once: true });
    });
  const backoff = async () => {
    await sleep(delay);
    delay = Math.min(delay * 2, 30_000);
  };

  const run = async () => {
    onState('connecting');
    while (!abort.signal.aborted) {
      const token = storedToken();
      let res;
      try {
        res = await fetch(STREAM, { headers: { accept: 'text/event-stream', ...authHeaders(token) }, cache: 'no-store', signal: abort.signal });
      } catch {
        if (abort.signal.aborted) return;
        onState('reconnecting');
        await backoff();
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        const why = await messageOf(res);
        if (token) forgetToken();
        onState('locked', why);
        for (;;) {
          const t = await askToken({
            title: 'This console needs its token',
            what: `netform was started with a bearer token for its console: ${why}`,
            problem: token ? 'The server refused that token.' : '',
            confirm: 'Open the console',
          });
          if (t) {
            keepToken(t);
            break;
          }
          // Cancelled: the page offers to ask again (unlock).
          await new Promise((resolve) => (wake = () => resolve(undefined)));
          if (abort.signal.aborted) return;
        }
        continue;
      }
      if (!res.ok || !res.body) {
        onState('reconnecting', `${res.status} ${await messageOf(res)}`);
        await backoff();
        continue;
      }
      onState('live');
      delay = 1000;
      // Each connection starts with a whole view; patches apply to what this connection sent.
      /** @type {ConsoleView | undefined} */
      let view;
      try {
        await readEvents(
          res.body,
          (event, data) => {
            if (event !== 'view' && event !== 'patch') return;
            let parsed;
            try {
              parsed = JSON.parse(data);
            } catch {
              return;
            }
            const next = event === 'view' ? parsed : view && applyPatch(view, parsed);
            if (!next) return;
            view = next;
            onView(next);
          },
          (ms) => (retry = ms),
        );
      } catch {
        /* cut: reconnect below */
      }
      if (abort.signal.aborted) return;
      onState('reconnecting');
      await sleep(retry);
    }
  };
  void run();
  return {
    close: () => abort.abort(),
    unlock: () => {
      wake?.();
      wake = undefined;
    },
  };
}
