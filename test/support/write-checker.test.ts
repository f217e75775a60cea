import { describe, expect, it } from 'vitest';
import type { WriteRecord } from './fake-backend.ts';
import { overlappingWrites, termsFromLogs, writesOutsideTerms } from './write-checker.ts';

const w = (object: string, replica: string, start: number, end: number): WriteRecord => ({ object, replica, method: 'PUT', start, end, status: 200 });

describe('the sharded writes checker', () => {
  it('fails on two replicas writing one object at overlapping times', () => {
    const found = overlappingWrites([w('owner:n1', 'a', 100, 150), w('owner:n1', 'b', 140, 190), w('owner:n2', 'a', 0, 10)]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ object: 'owner:n1', a: { replica: 'a' }, b: { replica: 'b' } });
  });

  it('passes writes that follow one another, and one replica\u2019s own concurrent writes', () => {
    expect(overlappingWrites([w('owner:n1', 'a', 100, 150), w('owner:n1', 'b', 151, 190), w('owner:n1', 'b', 160, 170), w('owner:n2', 'a', 0, 10), w('owner:n2', 'b', 11, 20)])).toEqual([]);
  });

  it('finds an overlap behind a long write', () => {
    expect(overlappingWrites([w('o', 'a', 0, 1000), w('o', 'a', 10, 20), w('o', 'b', 500, 510)])).toHaveLength(1);
  });

  it('fails on a write by a replica that did not hold the object\u2019s shard', () => {
    const terms = [
      { replica: 'a', shard: 0, start: 0, end: 100 },
      { replica: 'b', shard: 0, start: 120 },
    ];
    const shardOf = () => 0;
    expect(writesOutsideTerms([w('o', 'a', 50, 60), w('o', 'b', 130, 140)], terms, shardOf)).toEqual([]);
    expect(writesOutsideTerms([w('o', 'a', 110, 115), w('o', 'b', 100, 105), w('o', 'c', 200, 210)], terms, shardOf).map((x) => x.replica)).toEqual(['a', 'b', 'c']);
  });

  it('reads terms from the replicas\u2019 log lines, a killed replica\u2019s ending when it was killed', () => {
    const logs = [
      { msg: 'shard 1 gained', shard: 1, time: 10 },
      { msg: 'shard 2 gained', shard: 2, time: 12 },
      { msg: 'shard 1 lost', shard: 1, time: 50 },
      { msg: 'shard 1: engine stopped', shard: 1, time: 55 },
    ];
    expect(termsFromLogs('a', logs, 99)).toEqual([
      { replica: 'a', shard: 1, start: 10, end: 55 },
      { replica: 'a', shard: 2, start: 12, end: 99 },
    ]);
  });
});
