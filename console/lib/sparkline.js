// A sparkline as inline SVG: a polyline of the last samples, scaled to their maximum. Described for
// screen readers by its label (the current value and the range).
import { s } from './dom.js';

const W = 96;
const H = 22;

/**
 * @param {(number | null)[]} values oldest first; null where the agent reported none
 * @param {string} label what it shows, e.g. "Rx of ens3"
 * @param {string} direction 'rx' or 'tx' (its colour)
 * @returns {SVGElement}
 */
export function sparkline(values, label, direction) {
  const nums = values.filter((v) => typeof v === 'number');
  const max = Math.max(0, ...nums);
  const scale = max > 0 ? (H - 4) / max : 0;
  const step = values.length > 1 ? (W - 2) / (values.length - 1) : 0;
  /** @type {string[]} */
  const points = [];
  values.forEach((v, i) => {
    if (typeof v !== 'number') return;
    points.push(`${(1 + i * step).toFixed(1)},${(H - 2 - v * scale).toFixed(1)}`);
  });
  const last = nums.length ? nums[nums.length - 1] : undefined;
  const desc = last === undefined ? `${label}: no samples yet` : `${label}: ${last} Mb/s now, peak ${max} Mb/s over the last ${values.length} samples`;
  return s(
    'svg',
    { class: `spark spark-${direction}`, width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': desc, dataset: { samples: String(values.length) } },
    s('title', {}, desc),
    s('line', { class: 'spark-base', x1: 0, y1: H - 1.5, x2: W, y2: H - 1.5 }),
    points.length > 1 ? s('polyline', { class: 'spark-line', points: points.join(' ') }) : null,
    points.length ? s('circle', { class: 'spark-dot', cx: points[points.length - 1]?.split(',')[0] ?? 0, cy: points[points.length - 1]?.split(',')[1] ?? 0, r: 2 }) : null,
  );
}
