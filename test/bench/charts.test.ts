import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { formatNumber, neutronTimesChart, requestsChart, scaleChart, type NeutronFigures, type ScaleFigures } from '../../bench/charts-svg.ts';

const neutron: NeutronFigures = {
  date: '2026-12-05T09:30:00.000Z',
  n: 1000,
  machine: { cores: 2, neutron: '2:21.0.0-7+deb12u1', loadAverage1mAtStart: 1.5 },
  netformColdMs: 61_234,
  recheckMs: 2_345,
  stateLossMs: 4_567,
  floorMs: 50_321,
  openstackCliMs: 2_950_000,
  openstackCliMeasured: { n: 50 },
  ansibleMs: 2_100_400,
  ansibleMeasured: { n: 50 },
  netformColdCalls: { GET: 1203, POST: 2000, PUT: 3000, DELETE: 0 },
  recheckCalls: { GET: 3, POST: 0, PUT: 0, DELETE: 0 },
  stateLossCalls: { GET: 7, POST: 0, PUT: 1, DELETE: 0 },
  floorCalls: { GET: 0, POST: 2, PUT: 0, DELETE: 0 },
};

const scale: ScaleFigures = {
  date: '2026-12-05T07:35:47.450Z',
  sizes: { networks: 10_000, vnics: 50_000 },
  targets: { rssMB: 300, admissionMs: 5000 },
  machine: { cores: 2 },
  validate: { wallMs: 3421, peakRssMB: 580, finished: true },
  plan: { wallMs: 6658, peakRssMB: 755, finished: true },
  run: { firstPassMs: null, loadedMs: 4288, peakRssMB: 657, runSeconds: 60 },
  admission: { totalMsMedian: 2526 },
};

describe('benchmark charts', () => {
  it.each([
    ['neutron-times', () => neutronTimesChart(neutron), ['61 s, 1.22× floor', '50 s', '2,950 s, 48× netform', '2,100 s, 34× netform', '2.35 s', '4.57 s', 'measured at 50 networks (CLI) and 50 (Ansible', '1,000 networks']],
    ['requests', () => requestsChart(neutron), ['>1,203<', '>2,000<', '>3,000<', 'no-op: GET', 'state lost: PUT', 'floor (bulk): POST']],
    ['scale', () => scaleChart(scale), ['580 MB', '755 MB', '657 MB', 'target 300 MB', '6.66 s', 'first pass not done in 60 s', '10,000 networks + 50,000 vNICs']],
  ])('%s is valid SVG showing its figures, the same bytes every time', (_name, render, shown) => {
    const svg = render();
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const s of shown) expect(svg).toContain(s);
    expect(render()).toBe(svg);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('escapes what it is given', () => {
    expect(neutronTimesChart({ ...neutron, machine: { neutron: '<1&2>' } })).toContain('Neutron &lt;1&amp;2&gt;');
  });

  it.each([
    [0, '0'],
    [0.123, '0.12'],
    [9.999, '10'],
    [61.234, '61'],
    [1234567.8, '1,234,568'],
  ])('formatNumber(%d) is %s', (v, s) => expect(formatNumber(v)).toBe(s));
});
