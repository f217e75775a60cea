// The one live connection: an EventSource on /api/v1/stream. The server sends `event: view` with the
// whole ConsoleView on connect and after every change; other events (`patch`, …) are ignored. After a
// dropped connection the browser reconnects by itself; when it gives up (the server answered with an
// error, e.g. while it restarts behind a proxy) a new EventSource is opened after a backoff of 1 s,
// doubling up to 30 s. Nothing polls.

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {'connecting' | 'live' | 'reconnecting'} LinkState */

export const STREAM = '/api/v1/stream';

/**
 * @param {(view: ConsoleView) => void} onView
 * @param {(state: LinkState) => void} onState
 * @returns {() => void} closes the connection
 */
export function connect(onView, onState) {
  /** @type {EventSource} */
  let es;
  let delay = 1000;
  let timer = 0;
  let closed = false;
  const open = () => {
    es = new EventSource(STREAM);
    es.addEventListener('open', () => {
      delay = 1000;
      onState('live');
    });
    es.addEventListener('error', () => {
      onState('reconnecting');
      if (es.readyState !== EventSource.CLOSED || closed) return;
      timer = window.setTimeout(open, delay);
      delay = Math.min(delay * 2, 30_000);
    });
    es.addEventListener('view', (e) => {
      let view;
      try {
        view = JSON.parse(/** @type {MessageEvent} */ (e).data);
      } catch {
        return;
      }
      onState('live');
      onView(view);
    });
  };
  onState('connecting');
  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    es.close();
  };
}
