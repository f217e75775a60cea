// SVG bar charts of the benchmarks' figures (pure): the same JSON always gives the same bytes. Hand-written
// SVG, no dependencies; bench/charts.ts reads bench/results/*-latest.json and writes the files.

/** One bar: its label, its value (null: not measured, drawn as a note), and the text shown after it. */
export interface Bar {
  label: string;
  value: number | null;
  text?: string;
  color?: string;
}

/** A group of bars on one axis. `log` draws a log-10 axis; `target` a dashed line at that value. */
export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
  log?: boolean;
  target?: { value: number; label: string };
}

const WIDTH = 860;
const LABEL_W = 300;
const PLOT_W = 330;
const BAR_H = 18;
const GAP = 6;
const PALETTE = ['#2f6db5', '#7a7a7a', '#c9792b', '#b5352f', '#4f8f4a', '#7b4fa0'];
export const METHOD_COLORS: Record<string, string> = { GET: '#2f6db5', POST: '#4f8f4a', PUT: '#c9792b', DELETE: '#b5352f' };

/** 1234567.8 → "1,234,568"; 0.1234 → "0.12": no locale involved. */
export function formatNumber(v: number): string {
  if (v !== 0 && Math.abs(v) < 10) return String(Math.round(v * 100) / 100);
  return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Axis {
  x(v: number): number;
  ticks: number[];
}

function linearAxis(max: number): Axis {
  const top = max > 0 ? max : 1;
  const raw = top / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  const end = Math.ceil(top / step) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= end + step / 2; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return { x: (v) => (Math.max(0, v) / end) * PLOT_W, ticks };
}

function logAxis(min: number, max: number): Axis {
  let lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
  if (min / 10 ** lo < 2) lo -= 1; // keep the smallest bar readable
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-3))));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) ticks.push(10 ** k);
  return { x: (v) => (v <= 0 ? 0 : ((Math.log10(v) - lo) / (hi - lo)) * PLOT_W), ticks };
}

function panelHeight(p: Panel): number {
  return 26 + p.bars.length * (BAR_H + GAP) + 22;
}

function renderPanel(p: Panel, top: number): string {
  const values = p.bars.map((b) => b.value).filter((v): v is number => v !== null && Number.isFinite(v));
  if (p.target) values.push(p.target.value);
  const axis = p.log ? logAxis(Math.min(...values.filter((v) => v > 0), 1), Math.max(...values, 1)) : linearAxis(Math.max(...values, 0));
  const x0 = LABEL_W;
  const plotTop = top + 26;
  const plotBottom = plotTop + p.bars.length * (BAR_H + GAP);
  const parts: string[] = [];
  parts.push(`<text x="10" y="${top + 16}" class="title">${escapeXml(`${p.title}, ${p.unit}`)}${p.log ? ' (log scale)' : ''}</text>`);
  for (const t of axis.ticks) {
    const x = (x0 + axis.x(t)).toFixed(1);
    parts.push(`<line x1="${x}" y1="${plotTop - 2}" x2="${x}" y2="${plotBottom}" class="grid"/>`);
    parts.push(`<text x="${x}" y="${plotBottom + 14}" class="tick">${escapeXml(formatNumber(t))}</text>`);
  }
  p.bars.forEach((b, i) => {
    const y = plotTop + i * (BAR_H + GAP);
    const color = b.color ?? PALETTE[i % PALETTE.length]!;
    parts.push(`<text x="${x0 - 8}" y="${y + BAR_H - 5}" class="label">${escapeXml(b.label)}</text>`);
    if (b.value === null || !Number.isFinite(b.value)) {
      parts.push(`<text x="${x0 + 4}" y="${y + BAR_H - 5}" class="value">${escapeXml(b.text ?? 'not measured')}</text>`);
      return;
    }
    const w = Math.max(1, axis.x(b.value));
    parts.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${color}"/>`);
    parts.push(`<text x="${(x0 + w + 6).toFixed(1)}" y="${y + BAR_H - 5}" class="value">${escapeXml(b.text ?? `${formatNumber(b.value)} ${p.unit}`)}</text>`);
  });
  if (p.target) {
    const x = (x0 + axis.x(p.target.value)).toFixed(1);
    parts.push(`<line x1="${x}" y1="${plotTop - 4}" x2="${x}" y2="${plotBottom}" class="target"/>`);
    parts.push(`<text x="${x}" y="${plotTop - 6}" class="targetlabel">${escapeXml(p.target.label)}</text>`);
  }
  return parts.join('\n');
}

/** A whole SVG document: a title, the panels one under the other, and footnote lines. */
export function renderChart(title: string, panels: Panel[], footnotes: string[] = []): string {
  let y = 34;
  const bodies: string[] = [];
  for (const p of panels) {
    bodies.push(renderPanel(p, y));
    y += panelHeight(p) + 8;
  }
  const height = y + footnotes.length * 15 + (footnotes.length ? 4 : 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    '<style>text{font-family:DejaVu Sans,Verdana,sans-serif;font-size:12px;fill:#222}.h{font-size:15px;font-weight:bold}.title{font-weight:bold}.label{text-anchor:end}.tick{text-anchor:middle;font-size:10px;fill:#666}.unit{font-size:10px;fill:#666}.grid{stroke:#ddd;stroke-width:1}.target{stroke:#b5352f;stroke-width:1.5;stroke-dasharray:4 3}.targetlabel{text-anchor:middle;font-size:10px;fill:#b5352f}.note{font-size:10px;fill:#666}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" class="h">${escapeXml(title)}</text>`,
    ...bodies,
    ...footnotes.map((f, i) => `<text x="10" y="${y + 8 + i * 15}" class="note">${escapeXml(f)}</text>`),
    '</svg>',
    '',
  ].join('\n');
}

// ---- the charts of bench/results/*-latest.json --------------------------------------------------------

type Counts = { GET: number; POST: number; PUT: number; DELETE: number };
/** The parts of neutron-latest.json the charts read (bench/neutron.ts writes it). */
export interface NeutronFigures {
  date: string;
  n: number;
  machine?: { cores?: number; neutron?: string | null; loadAverage1mAtStart?: number; loadAverage1mAtEnd?: number };
  netformColdMs: number;
  recheckMs: number;
  stateLossMs?: number;
  floorMs: number;
  openstackCliMs: number;
  openstackCliMeasured?: { n: number };
  ansibleMs?: number;
  ansibleMeasured?: { n: number };
  netformColdCalls: Counts;
  recheckCalls: Counts;
  stateLossCalls?: Counts;
  floorCalls?: Counts;
}

const seconds = (ms: number | undefined | null) => (ms === undefined || ms === null ? null : ms / 1000);
const secText = (ms: number | undefined | null, extra = '') => (ms === undefined || ms === null ? 'not measured' : `${formatNumber(ms / 1000)} s${extra}`);

function footnote(f: NeutronFigures): string {
  const m = f.machine;
  return `${f.date.slice(0, 10)} · ${m?.cores ?? '?'} cores · Neutron ${m?.neutron ?? '?'} (Debian 12) · load ${m?.loadAverage1mAtStart ?? '?'} at start${m?.loadAverage1mAtEnd === undefined ? '' : `, ${m.loadAverage1mAtEnd} at end`} · bench/neutron.ts`;
}

/** netform apply from cold vs the two-bulk-POST floor vs the openstack CLI vs Ansible; and the re-applies. */
export function neutronTimesChart(f: NeutronFigures): string {
  const cliN = f.openstackCliMeasured?.n;
  const anN = f.ansibleMeasured?.n;
  const star = (n: number | undefined) => (n !== undefined && n < f.n ? ' *' : '');
  const ratio = (ms: number | undefined) => (ms === undefined ? '' : `, ${formatNumber(ms / f.netformColdMs)}× netform`);
  return renderChart(
    `${formatNumber(f.n)} networks with one subnet each, from cold, on the real Neutron`,
    [
      {
        title: 'Time to create them',
        unit: 's',
        log: true,
        bars: [
          { label: 'netform apply', value: seconds(f.netformColdMs), text: secText(f.netformColdMs, `, ${formatNumber(f.netformColdMs / f.floorMs)}× floor`) },
          { label: 'raw API floor: 2 bulk POSTs', value: seconds(f.floorMs), text: secText(f.floorMs) },
          { label: `openstack CLI, a process per op${star(cliN)}`, value: seconds(f.openstackCliMs), text: secText(f.openstackCliMs, ratio(f.openstackCliMs)) },
          { label: `Ansible openstack.cloud${star(anN)}`, value: seconds(f.ansibleMs), text: secText(f.ansibleMs, ratio(f.ansibleMs)) },
        ],
      },
      {
        title: 'netform apply again',
        unit: 's',
        bars: [
          { label: 'no-op (same state directory)', value: seconds(f.recheckMs), text: secText(f.recheckMs) },
          { label: 'state lost (state directory deleted)', value: seconds(f.stateLossMs), text: secText(f.stateLossMs) },
        ],
      },
    ],
    [
      ...(star(cliN) || star(anN) ? [`* extrapolated to ${formatNumber(f.n)}: measured at ${cliN ?? '?'} networks (CLI) and ${anN ?? '?'} (Ansible, its start-up counted once)`] : []),
      footnote(f),
    ],
  );
}

/** Requests Neutron logged, by method, for netform's cold, no-op and state-loss applies (and the floor). */
export function requestsChart(f: NeutronFigures): string {
  const phases: [string, Counts | undefined][] = [
    ['from cold', f.netformColdCalls],
    ['no-op', f.recheckCalls],
    ['state lost', f.stateLossCalls],
    ['floor (bulk)', f.floorCalls],
  ];
  const bars: Bar[] = [];
  for (const [phase, c] of phases) {
    if (!c) continue;
    for (const m of ['GET', 'POST', 'PUT', 'DELETE'] as const) {
      if (phase.startsWith('floor') && c[m] === 0) continue;
      bars.push({ label: `${phase}: ${m}`, value: c[m], text: formatNumber(c[m]), color: METHOD_COLORS[m] });
    }
  }
  return renderChart(
    `Requests Neutron logged, ${formatNumber(f.n)} networks with a subnet each`,
    [{ title: 'netform apply, and the floor, by HTTP method (the Neutron server\'s access log)', unit: 'requests', bars }],
    [footnote(f)],
  );
}

/** The parts of scale-latest.json the chart reads (bench/scale.ts writes it). */
export interface ScaleFigures {
  date: string;
  sizes: { networks: number; vnics: number };
  targets?: { rssMB?: number; admissionMs?: number };
  machine?: { cores?: number };
  validate: { wallMs: number | null; peakRssMB: number | null; finished?: boolean };
  plan: { wallMs: number | null; peakRssMB: number | null; finished?: boolean };
  run: { firstPassMs: number | null; loadedMs?: number | null; peakRssMB: number | null; runSeconds?: number };
  admission?: { totalMsMedian?: number };
}

/** Peak RSS and wall time of validate, plan and run on the scale set. */
export function scaleChart(f: ScaleFigures): string {
  const rss = f.targets?.rssMB ?? 300;
  const wall = (w: { wallMs: number | null; finished?: boolean }) => (w.finished === false ? `${secText(w.wallMs)} (stopped)` : secText(w.wallMs));
  const runText = f.run.firstPassMs === null ? `first pass not done in ${f.run.runSeconds ?? '?'} s` : secText(f.run.firstPassMs);
  return renderChart(
    `Scale: ${formatNumber(f.sizes.networks)} networks + ${formatNumber(f.sizes.vnics)} vNICs, no backend`,
    [
      {
        title: 'Peak RSS',
        unit: 'MB',
        target: { value: rss, label: `target ${rss} MB` },
        bars: [
          { label: 'netform validate', value: f.validate.peakRssMB },
          { label: 'netform plan', value: f.plan.peakRssMB },
          { label: 'netform run', value: f.run.peakRssMB },
        ],
      },
      {
        title: 'Wall time',
        unit: 's',
        bars: [
          { label: 'admission (read + admit), median', value: seconds(f.admission?.totalMsMedian), text: secText(f.admission?.totalMsMedian) },
          { label: 'netform validate', value: seconds(f.validate.wallMs), text: wall(f.validate) },
          { label: 'netform plan', value: seconds(f.plan.wallMs), text: wall(f.plan) },
          { label: 'netform run: manifests loaded', value: seconds(f.run.loadedMs ?? null), text: secText(f.run.loadedMs) },
          { label: 'netform run: first pass done', value: seconds(f.run.firstPassMs), text: runText },
        ],
      },
    ],
    [`${f.date.slice(0, 10)} · ${f.machine?.cores ?? '?'} cores · bench/scale.ts`],
  );
}
