// Charts of the latest benchmark figures (the end of `npm run bench`): reads bench/results/*-latest.json
// and writes SVG bar charts into docs/benchmarks/, which docs/benchmarks.md embeds. A chart whose JSON is
// missing is left as it is. Same JSON, same bytes (bench/charts-svg.ts).
//   node bench/charts.ts [RESULTS_DIR [OUT_DIR]]
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { neutronTimesChart, requestsChart, scaleChart, type NeutronFigures, type ScaleFigures } from './charts-svg.ts';

const results = process.argv[2] ?? fileURLToPath(new URL('./results/', import.meta.url));
const outDir = process.argv[3] ?? fileURLToPath(new URL('../docs/benchmarks/', import.meta.url));

function read<T>(name: string, charts: string): T | undefined {
  const file = join(results, name);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as T;
  process.stderr.write(`[charts] no ${file}: ${charts} left as it is\n`);
  return undefined;
}

function write(name: string, svg: string, from: string): void {
  writeFileSync(join(outDir, name), svg);
  process.stdout.write(`[charts] ${join(outDir, name)} from ${from}\n`);
}

mkdirSync(outDir, { recursive: true });
const neutron = read<NeutronFigures>('neutron-latest.json', 'neutron-times.svg and requests.svg');
if (neutron) {
  write('neutron-times.svg', neutronTimesChart(neutron), 'neutron-latest.json');
  write('requests.svg', requestsChart(neutron), 'neutron-latest.json');
}
const scale = read<ScaleFigures>('scale-latest.json', 'scale.svg');
if (scale) write('scale.svg', scaleChart(scale), 'scale-latest.json');
