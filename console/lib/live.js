// The one live connection: an EventSource on /api/v1/stream. The server sends `event: view` with the
// whole ConsoleView on connect and after every change; other events (`patch`, …) are ignored. The
// browser reconnects by itself after a drop; nothing polls.

/** @typedef {import('../types.js').ConsoleView} ConsoleView */
/** @typedef {'connecting' | 'live' | 'reconnecting'} LinkState */

/**
 * @param {(view: ConsoleView) => void} onView
 * @param {(state: LinkState) => void} onState
 * @returns {() => void} closes the connection
 */
export function connect(onView, onState) {
  const es = new EventSource('/api/v1/stream');
  onState('connecting');
  es.addEventListener('open', () => onState('live'));
  es.addEventListener('error', () => onState(es.readyState === EventSource.CLOSED ? 'reconnecting' : 'reconnecting'));
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
  return () => es.close();
}
