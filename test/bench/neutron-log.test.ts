import { describe, expect, it } from 'vitest';
import { countRequests, countRoutes, extrapolate, findMarker, markerQuery } from '../../bench/neutron-log.ts';

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
