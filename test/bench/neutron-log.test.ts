import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { countRequests, countRoutes, cpuSecondsFromStat, extrapolate, findMarker, markerQuery, parentPidFromStat, processTree } from '../../bench/neutron-log.ts';

const line = (method: string, path: string, status = 200) =>
  `2026-12-05 08:42:33.699 28647 INFO neutron.wsgi [None req-b8dff96b - fake_project_id - - - -] 127.0.0.1 "${method} ${path} HTTP/1.1" status: ${status}  len: 189 time: 0.1580384`;

describe("the Neutron server's access log", () => {
  const log = [
    line('GET', '/v2.0/networks?fields=id'),
    line('GET', markerQuery('cold-start')),
    line('GET', '/v2.0/networks?tags=nf-inst%3Anetform&limit=500'),
    '2026-12-05 08:42:33.700 28647 WARNING neutron.db something else',
    line('POST', '/v2.0/networks', 201),
    line('PUT', '/v2.0/networks/abc/tags'),
    line('DELETE', '/v2.0/networks/abc', 204),
    line('POST', '/v2.0/subnets', 409),
    line('GET', markerQuery('cold-end')),
    line('POST', '/v2.0/networks', 201),
  ].join('\n');

  it('counts the requests between two markers, by method, with the errors', () => {
    const from = findMarker(log, 'cold-start')!.end;
    const to = findMarker(log, 'cold-end')!.start;
    expect(countRequests(log.slice(from, to))).toEqual({ GET: 1, POST: 2, PUT: 1, DELETE: 1, other: 0, total: 5, errors: 1 });
  });

  it('counts by route: the path without its query, ids as {id}, markers left out', () => {
    const text = [
      line('GET', '/v2.0/ports?tags=nf-inst%3Anetform&limit=10000'),
      line('GET', '/v2.0/ports?tags=nf-inst%3Anetform&limit=10000'),
      line('PUT', '/v2.0/ports/0f8e0a3b-4e2f-4260-b808-0061fc072fec/tags'),
      line('PUT', '/v2.0/ports/12bfad25-24c6-4752-ba2c-e01c6e890f6c'),
      line('GET', markerQuery('noop-end')),
    ].join('\n');
    expect(countRoutes(text)).toEqual({ 'GET /v2.0/ports': 2, 'PUT /v2.0/ports/{id}': 1, 'PUT /v2.0/ports/{id}/tags': 1 });
  });

  it('never counts a marker request, and finds no marker that was not sent', () => {
    expect(countRequests(log).total).toBe(7);
    expect(findMarker(log, 'noop-start')).toBeUndefined();
  });
});

describe('extrapolate', () => {
  it.each([
    [5000, 50, 1000, 0, 100_000],
    [5500, 50, 1000, 500, 100_500],
    [300, 50, 50, 100, 300],
  ])('%d ms at %d → %d (fixed %d) is %d ms', (ms, n, to, fixed, want) => {
    expect(extrapolate(ms, n, to, fixed)).toBe(want);
  });
});

describe('CPU seconds from /proc/PID/stat', () => {
  it('reads utime + stime, counting fields from the last parenthesis of the command name', () => {
    const stat = '3748 (neutron-server: (x) y) R 1 3748 3748 0 -1 4194560 95833 0 0 0 33012 1544 0 0 20 0 1 0 4485342 1234567 56789 18446744073709551615';
    expect(cpuSecondsFromStat(stat)).toBeCloseTo(345.56, 5);
    expect(() => cpuSecondsFromStat('garbage')).toThrow(/not a \/proc\/PID\/stat line/);
  });

  it("reads this process's own stat, and the figure grows with work", () => {
    const before = cpuSecondsFromStat(readFileSync('/proc/self/stat', 'utf8'));
    const used = process.cpuUsage();
    let x = 0;
    // Busy until Node itself counts 300 ms of CPU (however loaded the machine is).
    while (process.cpuUsage(used).user + process.cpuUsage(used).system < 300_000) x += Math.sqrt(x + 1);
    const after = cpuSecondsFromStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(x).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThanOrEqual(0.25);
    expect(after - before).toBeLessThan(5);
  });
});

describe('a process tree from /proc', () => {
  it('reads the parent pid, and collects a root with all its descendants', () => {
    expect(parentPidFromStat('6259 (neutron-server: api worker) S 6209 6209 6209 0 -1 4194624 1 0 0 0 5 1 0 0 20 0 1 0 1 2 3')).toBe(6209);
    expect(parentPidFromStat(readFileSync('/proc/self/stat', 'utf8'))).toBe(process.ppid);
    const parents = new Map([
      [6209, 1],
      [6259, 6209],
      [6260, 6209],
      [6262, 6209],
      [7000, 6259],
      [8000, 1],
      [8001, 8000],
    ]);
    expect(processTree(6209, parents)).toEqual([6209, 6259, 6260, 6262, 7000]);
    expect(processTree(8001, parents)).toEqual([8001]);
  });
});
