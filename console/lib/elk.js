// elkjs, loaded when the topology is first shown: its API (a classic script defining window.ELK) and
// the layout engine in a Web Worker, both served from /vendor. Layouts run off the main thread.

export const ELK_API = '/vendor/elkjs/lib/elk-api.js';
export const ELK_WORKER = '/vendor/elkjs/lib/elk-worker.min.js';

/** @typedef {{ layout: (graph: object) => Promise<any> }} Elk */

/** @type {Promise<Elk> | undefined} */
let loading;

/** @returns {Promise<Elk>} */
export function loadElk() {
  loading ??= new Promise((resolve, reject) => {
    const make = () => {
      const ELK = /** @type {any} */ (window).ELK;
      if (typeof ELK !== 'function') return reject(new Error(`${ELK_API} did not define ELK`));
      resolve(new ELK({ workerUrl: ELK_WORKER }));
    };
    if (/** @type {any} */ (window).ELK) return make();
    const script = document.createElement('script');
    script.src = ELK_API;
    script.addEventListener('load', make);
    script.addEventListener('error', () => {
      loading = undefined;
      reject(new Error(`could not load ${ELK_API}`));
    });
    document.head.append(script);
  });
  return loading;
}
