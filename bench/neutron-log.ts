// Reading the harness Neutron's own log (pure): its API access lines, counted by method, and the marker
// requests bench/neutron.ts sends to cut the log into phases.
//
// Neutron's WSGI server writes one INFO line per request, after the answer:
//   ... INFO neutron.wsgi [...] 127.0.0.1 "GET /v2.0/networks?fields=id HTTP/1.1" status: 200  len: 189 time: 0.15

/** Requests Neutron logged, by method; `errors` counts answers with a status of 400 or more. */
export interface RequestCounts {
  GET: number;
  POST: number;
  PUT: number;
  DELETE: number;
  other: number;
  total: number;
  errors: number;
}

const ACCESS = /"([A-Z]+) (\S+) HTTP\/1\.[01]" status: (\d{3})/;

/** The query string of a marker request for `label`: a GET nobody else sends, easy to find in the log. */
export function markerQuery(label: string): string {
  return `/v2.0/networks?name=netform-bench-mark-${encodeURIComponent(label)}&fields=id`;
}

/** The offsets of the marker `label`'s access line in `text`: where it starts and where the next line starts; undefined when absent. */
export function findMarker(text: string, label: string, from = 0): { start: number; end: number } | undefined {
  const needle = `netform-bench-mark-${encodeURIComponent(label)}&`;
  const at = text.indexOf(needle, from);
  if (at < 0) return undefined;
  const start = text.lastIndexOf('\n', at) + 1;
  const nl = text.indexOf('\n', at);
  return { start, end: nl < 0 ? text.length : nl + 1 };
}

/** Counts the access lines of `text` (marker requests excluded). Lines that are not access lines are ignored. */
export function countRequests(text: string): RequestCounts {
  const c: RequestCounts = { GET: 0, POST: 0, PUT: 0, DELETE: 0, other: 0, total: 0, errors: 0 };
  for (const line of text.split('\n')) {
    const m = ACCESS.exec(line);
    if (!m || m[2]!.includes('netform-bench-mark-')) continue;
    const method = m[1]!;
    if (method === 'GET' || method === 'POST' || method === 'PUT' || method === 'DELETE') c[method]++;
    else c.other++;
    c.total++;
    if (Number(m[3]) >= 400) c.errors++;
  }
  return c;
}

/**
 * The access lines of `text` (marker requests excluded) counted by route: the method and the path
 * without its query, ids (UUIDs) as `{id}`, e.g. `GET /v2.0/ports` or `PUT /v2.0/ports/{id}/tags`.
 */
export function countRoutes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = ACCESS.exec(line);
    if (!m || m[2]!.includes('netform-bench-mark-')) continue;
    const path = m[2]!.split('?')[0]!.replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=\/|$)/g, '/{id}');
    const route = `${m[1]} ${path}`;
    out[route] = (out[route] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Time for `n` objects from a run of `measuredN`: a fixed start-up cost plus the rest scaled linearly. */
export function extrapolate(measuredMs: number, measuredN: number, n: number, fixedMs = 0): number {
  if (measuredN <= 0) throw new Error('nothing measured to extrapolate from');
  const fixed = Math.min(fixedMs, measuredMs);
  return fixed + ((measuredMs - fixed) * n) / measuredN;
}

/**
 * CPU seconds (user + system) a process has used, from the text of its `/proc/PID/stat`, with the
 * kernel's clock ticks per second (100 on Linux). The command name may hold spaces and parentheses,
 * so fields are counted from the last ')'.
 */
export function cpuSecondsFromStat(stat: string, ticksPerSecond = 100): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 80)}`);
  return (utime + stime) / ticksPerSecond;
}

/** The parent pid in the text of a `/proc/PID/stat` (field 4). */
export function parentPidFromStat(stat: string): number {
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (!Number.isInteger(ppid)) throw new Error(`not a /proc/PID/stat line: ${stat.slice(0, 80)}`);
  return ppid;
}

/** `root` and every process below it, from pid → parent pid. */
export function processTree(root: number, parents: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out.sort((a, b) => a - b);
}
