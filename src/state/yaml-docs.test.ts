import { describe, expect, it } from 'vitest';
import { parseYamlDocuments, parseYamlFile } from './yaml-docs.ts';
import type { YamlDocument, YamlParseError } from './yaml-docs.ts';

function docs(text: string): YamlDocument[] {
  const result = parseYamlDocuments(text, 'test.yaml');
  if (!result.ok) throw new Error(`unexpected parse error: ${JSON.stringify(result.error)}`);
  return result.documents;
}

function only(text: string): YamlDocument {
  const all = docs(text);
  expect(all).toHaveLength(1);
  return all[0]!;
}

function parseError(text: string): YamlParseError {
  const result = parseYamlDocuments(text, 'test.yaml');
  if (result.ok) throw new Error('expected a parse error');
  return result.error;
}

const lines = (...l: string[]): string => l.join('\n') + '\n';

describe('positionOf in block style', () => {
  const text = lines(
    'apiVersion: netform.io/v1', //              1
    'kind: Network', //                          2
    'metadata:', //                              3
    '  name: prod', //                           4
    '  labels:', //                              5
    '    "app.kubernetes.io/name": edge', //     6
    'spec:', //                                  7
    '  mtu: 9000', //                            8
    '  subnets:', //                             9
    '    - name: a', //                          10
    '      cidr: 10.0.0.0/24', //                11
    '    - name: b', //                          12
    '      cidr: 10.0.1.0/24', //                13
    '      routes:', //                          14
    '        - to: 0.0.0.0/0', //                15
    '          via: 10.0.1.1', //                16
  );
  const doc = only(text);

  it('constructs the value', () => {
    expect(doc.value).toEqual({
      apiVersion: 'netform.io/v1',
      kind: 'Network',
      metadata: { name: 'prod', labels: { 'app.kubernetes.io/name': 'edge' } },
      spec: {
        mtu: 9000,
        subnets: [
          { name: 'a', cidr: '10.0.0.0/24' },
          { name: 'b', cidr: '10.0.1.0/24', routes: [{ to: '0.0.0.0/0', via: '10.0.1.1' }] },
        ],
      },
    });
  });

  it.each([
    ['', 1, 1],
    ['/apiVersion', 1, 1],
    ['/kind', 2, 1],
    ['/metadata', 3, 1],
    ['/metadata/name', 4, 3],
    ['/metadata/labels/app.kubernetes.io~1name', 6, 5], // quoted key: at the opening quote
    ['/spec/mtu', 8, 3],
    ['/spec/subnets', 9, 3],
    ['/spec/subnets/0', 10, 7], // item start (its first key), not the dash
    ['/spec/subnets/0/cidr', 11, 7],
    ['/spec/subnets/1', 12, 7],
    ['/spec/subnets/1/cidr', 13, 7],
    ['/spec/subnets/1/routes/0', 15, 11],
    ['/spec/subnets/1/routes/0/via', 16, 11],
  ])('%j is at %i:%i', (path, line, column) => {
    expect(doc.positionOf(path)).toEqual({ line, column });
  });

  it.each([
    ['/metadata/namespace', 3, 1, 'missing key under a mapping'],
    ['/nope', 1, 1, 'missing top-level key: the root'],
    ['/spec/mtu/deeper', 8, 3, 'cannot descend into a scalar'],
    ['/spec/subnets/5/cidr', 9, 3, 'index out of range'],
    ['/spec/subnets/1/gateway', 12, 7, 'missing key in an item: the item'],
    ['/spec/subnets/1/routes/0/via/x', 16, 11, 'deepest existing node is a key'],
    ['/spec/subnets/01', 9, 3, 'non-canonical index'],
    ['/spec/subnets/-', 9, 3, '"-" is not an index'],
    ['/spec/subnets/name', 9, 3, 'key segment against a sequence'],
    ['/metadata/labels/app.kubernetes.io/name', 5, 3, 'unescaped "/" splits the segment'],
  ])('missing %j falls back to %i:%i (%s)', (path, line, column) => {
    expect(doc.positionOf(path)).toEqual({ line, column });
  });
});

describe('positionOf in flow style', () => {
  const text = lines(
    'kind: Net',
    "spec: {cidrs: ['10.0.0.0/8', 192.168.0.0/16], nested: {a: {b: [1, {c: d}]}}}",
    'list: [ {x: 1}, {y: 2} ]',
  );
  const doc = only(text);

  it('constructs the value', () => {
    expect(doc.value).toEqual({
      kind: 'Net',
      spec: { cidrs: ['10.0.0.0/8', '192.168.0.0/16'], nested: { a: { b: [1, { c: 'd' }] } } },
      list: [{ x: 1 }, { y: 2 }],
    });
  });

  it.each([
    ['/spec', 2, 1],
    ['/spec/cidrs', 2, 8],
    ['/spec/cidrs/0', 2, 16], // quoted item: at the quote
    ['/spec/cidrs/1', 2, 30],
    ['/spec/nested', 2, 47],
    ['/spec/nested/a/b', 2, 60],
    ['/spec/nested/a/b/0', 2, 64],
    ['/spec/nested/a/b/1', 2, 67], // flow mapping item: at its `{`
    ['/spec/nested/a/b/1/c', 2, 68],
    ['/spec/nested/a/b/1/missing', 2, 67],
    ['/list/0/x', 3, 10],
    ['/list/1', 3, 17],
    ['/list/1/y', 3, 18],
    ['/list/2', 3, 1],
  ])('%j is at %i:%i', (path, line, column) => {
    expect(doc.positionOf(path)).toEqual({ line, column });
  });

  it('gives positions for a flow-style root', () => {
    const root = only('{a: 1, b: [1, 2]}\n');
    expect(root.value).toEqual({ a: 1, b: [1, 2] });
    expect([root.positionOf(''), root.positionOf('/a'), root.positionOf('/b'), root.positionOf('/b/1')]).toEqual([
      { line: 1, column: 1 },
      { line: 1, column: 2 },
      { line: 1, column: 8 },
      { line: 1, column: 15 },
    ]);
  });
});

describe('positionOf for sequence items, anchors and aliases', () => {
  const text = lines(
    'items:', //            1
    '- plain', //           2
    '- "quoted"', //        3
    '- |', //               4
    '  literal', //         5
    '- &anc {k: v}', //     6
    '- !!str 42', //        7
    '- *anc', //            8
    '-', //                 9  (empty item)
    '- [nested, seq]', //   10
    '- >- # folded', //     11
    '  text', //            12
  );
  const doc = only(text);

  it('constructs the value', () => {
    expect(doc.value).toEqual({
      items: ['plain', 'quoted', 'literal\n', { k: 'v' }, '42', { k: 'v' }, null, ['nested', 'seq'], 'text'],
    });
  });

  it.each([
    ['/items/0', 2, 3, 'plain scalar'],
    ['/items/1', 3, 3, 'double-quoted scalar: the quote'],
    ['/items/2', 4, 3, 'literal block scalar: the `|` header, not the content line'],
    ['/items/3', 6, 3, 'anchored node: the `&`'],
    ['/items/3/k', 6, 9, 'key inside the anchored flow mapping'],
    ['/items/4', 7, 3, 'tagged scalar: the tag'],
    ['/items/5', 8, 3, 'alias: the `*`'],
    ['/items/5/k', 6, 9, 'path through an alias continues in the anchored node'],
    ['/items/5/k/deeper', 6, 9, 'through an alias, then missing'],
    ['/items/6', 1, 1, 'empty item has no text: falls back to the parent'],
    ['/items/7/1', 10, 12, 'nested flow sequence item'],
    ['/items/8', 11, 3, 'folded block scalar with a comment: the `>` header'],
    ['/items/9', 1, 1, 'out of range'],
  ])('%j is at %i:%i (%s)', (path, line, column) => {
    expect(doc.positionOf(path)).toEqual({ line, column });
  });

  it('refuses a recursive alias (a circular value) instead of constructing it', () => {
    expect(parseError('k: &a [x, *a]\n')).toEqual({
      message: 'the alias *a is inside the node it refers to: a circular value',
      line: 1,
      column: 11,
      documentIndex: 0,
      path: '/k/1',
      kind: 'limit',
    });
  });
});

describe('limits: aliases, circular values, nesting', () => {
  /** "Billion laughs": each level holds `width` aliases of the level below. */
  const laughs = (levels: number, width = 9): string => {
    let text = 'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i <= levels; i++) text += `l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]\n`;
    return text;
  };

  it('refuses a billion-laughs document quickly, at the alias that goes past the budget', () => {
    // The budget stops it early (that it is quick is a benchmark's business, not a unit test's).
    const error = parseError(laughs(9));
    // l0 is 10 nodes; l1 adds 9 x 10, l2 9 x 91, l3 9 x 820, l4 9 x 7381 (74718 in all); l5's first 66430 go past.
    expect(error).toMatchObject({ line: 6, documentIndex: 0, path: '/l5/0', kind: 'limit' });
    expect(error.message).toBe('aliases may add at most 100000 nodes to a file; *l4 (66430 nodes) goes past that');
  });

  it('accepts aliases within the budget, and counts them across the documents of a file', () => {
    expect(only(laughs(3)).value).toMatchObject({ l3: expect.any(Array) });
    const small = { maxDepth: 64, maxAliasNodes: 200 };
    const doc = 'a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [*a, *a, *a, *a, *a]\n'; // 5 x 10 = 50 alias nodes
    const file = parseYamlFile([doc, doc, doc, doc, doc].join('---\n'), 'test.yaml', small);
    expect(file.documents.map((d) => d.index)).toEqual([0, 1, 2, 3]);
    expect(file.errors).toEqual([
      expect.objectContaining({ documentIndex: 4, line: 14, path: '/b/0', message: 'aliases may add at most 200 nodes to a file; *a (10 nodes) goes past that' }),
    ]);
  });

  it('a refused document does not use up the budget of the others', () => {
    const file = parseYamlFile(`${laughs(9)}---\n${laughs(3)}`, 'test.yaml');
    expect(file.errors.map((e) => e.documentIndex)).toEqual([0]);
    expect(file.documents.map((d) => d.index)).toEqual([1]);
  });

  it.each([
    ['k: &a [x, *a]\n', '/k/1', 1, 11],
    ['spec: &s\n  name: n\n  self: *s\n', '/spec/self', 3, 9],
    ['subnets: &s\n- name: *s\n  cidr: 10.0.0.0/24\n', '/subnets/0/name', 2, 9],
    ['a: &a {b: &b [*a]}\n', '/a/b/0', 1, 15],
  ])('refuses the circular value in %j at %j', (text, path, line, column) => {
    expect(parseError(text)).toMatchObject({ path, line, column, kind: 'limit', message: expect.stringContaining('circular') });
  });

  it('refuses only the document with a circular value', () => {
    const file = parseYamlFile('a: 1\n---\nb: &b [*b]\n---\nc: 3\n');
    expect(file.documents.map((d) => d.value)).toEqual([{ a: 1 }, { c: 3 }]);
    expect(file.errors).toEqual([expect.objectContaining({ documentIndex: 1, path: '/b/0' })]);
  });

  it('refuses nesting deeper than the limit, without running out of stack', () => {
    const deep = (n: number) => `a: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    expect(docs(deep(63))).toHaveLength(1);
    for (const n of [64, 1000, 100_000]) {
      expect(parseError(deep(n))).toMatchObject({ message: 'nesting is deeper than 64 levels', line: 1, documentIndex: 0, kind: 'limit' });
    }
  });

  it('counts nesting with aliases expanded', () => {
    // Each level nests the previous one 8 levels deeper: 10 levels are 80 deep, 4 aliases only.
    let text = 'l0: &l0 x\n';
    for (let i = 1; i <= 10; i++) text += `l${i}: &l${i} [[[[[[[[*l${i - 1}]]]]]]]]\n`;
    expect(parseError(text)).toMatchObject({
      message: 'with the alias *l7 expanded, nesting is deeper than 64 levels',
      line: 9,
      path: '/l8/0/0/0/0/0/0/0/0',
      kind: 'limit',
    });
  });
});

describe('positionOf with non-string and escaped keys', () => {
  const text = lines(
    'plain: 1', //       1
    '0x10: hex', //      2
    '~: tilde', //       3
    '"a/b": slash', //   4
    "'c~d': tilde", //   5
    'true: yes', //      6
    '"1e3": quoted', //  7
    '1e3: float', //     8
  );
  const doc = only(text);

  it('constructs keys as js-yaml does (String of the resolved key)', () => {
    expect(doc.value).toEqual({
      plain: 1,
      '16': 'hex',
      null: 'tilde',
      'a/b': 'slash',
      'c~d': 'tilde',
      true: 'yes',
      '1e3': 'quoted',
      '1000': 'float',
    });
  });

  it.each([
    ['/plain', 1, 1],
    ['/16', 2, 1], // `0x10` resolves to 16
    ['/0x10', 1, 1], // not a key of the constructed object: root
    ['/null', 3, 1],
    ['/a~1b', 4, 1],
    ['/c~0d', 5, 1],
    ['/true', 6, 1],
    ['/1e3', 7, 1],
    ['/1000', 8, 1],
  ])('%j is at %i:%i', (path, line, column) => {
    expect(doc.positionOf(path)).toEqual({ line, column });
  });
});

describe('multiple documents', () => {
  const text = lines(
    '# leading comment block', //  1
    '# more comments', //          2
    '', //                         3
    '---', //                      4
    'kind: A', //                  5
    '---', //                      6
    '# comment inside doc', //     7
    'kind: B', //                  8
    'spec: {x: 1}', //             9
    '...', //                      10
    '---', //                      11
    '---', //                      12
    '- kind: C', //                13
    '--- # empty, with comment', // 14
    '--- text', //                 15
    '...', //                      16
    'kind: D', //                  17 (a bare document after `...`)
  );

  it.each([
    [0, 5, { kind: 'A' }],
    [1, 8, { kind: 'B', spec: { x: 1 } }],
    [2, 11, null],
    [3, 13, [{ kind: 'C' }]],
    [4, 14, null],
    [5, 15, 'text'],
    [6, 17, { kind: 'D' }],
  ])('document %i starts on line %i', (index, line, value) => {
    const all = docs(text);
    expect(all).toHaveLength(7);
    const doc = all[index]!;
    expect(doc.index).toBe(index);
    expect(doc.line).toBe(line);
    expect(doc.value).toEqual(value);
  });

  it.each([
    [0, '/kind', 5, 1],
    [1, '/kind', 8, 1],
    [1, '/spec/x', 9, 8],
    [2, '', 11, 1],
    [2, '/kind', 11, 1],
    [3, '/0/kind', 13, 3],
    [4, '/kind', 14, 1],
    [5, '', 15, 5],
    [6, '/kind', 17, 1],
  ])('document %i: %j is at %i:%i', (index, path, line, column) => {
    expect(docs(text)[index]!.positionOf(path)).toEqual({ line, column });
  });

  it('root tag and anchor count as the start of the content', () => {
    const all = docs('a: 1\n--- !!map &r\nk: v\n');
    expect(all.map((d) => [d.index, d.line, d.value])).toEqual([
      [0, 1, { a: 1 }],
      [1, 2, { k: 'v' }],
    ]);
    expect(all[1]!.positionOf('')).toEqual({ line: 2, column: 5 });
    expect(all[1]!.positionOf('/k')).toEqual({ line: 3, column: 1 });
  });
});

describe('empty documents', () => {
  it.each([
    ['', [[0, 1, null]]],
    ['# only a comment\n# another\n', [[0, 1, null]]],
    ['\n\n', [[0, 1, null]]],
    ['---\n', [[0, 1, null]]],
    ['---\n# c\n', [[0, 1, null]]],
    ['\n\n--- # c\n', [[0, 3, null]]],
    ['a: 1\n---\n', [[0, 1, { a: 1 }], [1, 2, null]]],
    ['a: 1\n---', [[0, 1, { a: 1 }], [1, 2, null]]],
    ['---\n---\nb: 2\n', [[0, 1, null], [1, 3, { b: 2 }]]],
    ['# c\n---\n\n---\n\n---\nc: 3\n---\n', [[0, 2, null], [1, 4, null], [2, 7, { c: 3 }], [3, 8, null]]],
    ['--- |\n  x\n---\n', [[0, 1, 'x\n'], [1, 3, null]]],
    ['a: 1\n...\n', [[0, 1, { a: 1 }]]],
  ])('%j gives [index, line, value] %j', (text, expected) => {
    expect(docs(text).map((d) => [d.index, d.line, d.value])).toEqual(expected);
  });

  it.each([
    ['# only a comment\n', '', 1, 1],
    ['# only a comment\n', '/spec/x', 1, 1],
    ['a: 1\n---\n# nothing\n', '/a', 2, 1],
  ])('positionOf in the last document of %j (%j) is %i:%i', (text, path, line, column) => {
    expect(docs(text).at(-1)!.positionOf(path)).toEqual({ line, column });
  });
});

describe('syntax errors', () => {
  it.each([
    // The path is that of the last node that parses before the error, when the text up to it parses.
    ['a: 1\nb: : 2\n', 'bad indentation of a mapping entry', 2, 4, 0, '/b'],
    ['a:\n\t- b\n', 'tab characters must not be used in indentation', 2, 1, 0, '/a'],
    ['key: "bad \\q escape"\n', 'unknown escape sequence', 1, 12, 0, '/key'],
    ['a: 1\n---\nb: [1,\nc: 2\n', 'deficient indentation', 4, 1, 1, undefined],
    ["kind: A\n---\nkind: B\n---\nkind: 'unterminated\n", 'deficient indentation', 6, 1, 2, undefined],
    ['a: 1\n---\n---\nb: [\n', 'deficient indentation', 5, 1, 2, undefined],
    ['---\n---\n- ]\n', 'end of the stream or a document separator is expected', 3, 3, 1, ''],
    ['# c\n---\na: 1\n...\nb: {\n', 'deficient indentation', 6, 1, 1, undefined], // bare document after `...`
    ['x: !foo bar\n', 'unknown scalar tag !<!foo>', 1, 4, 0, '/x'],
    ['a: 1\n---\nb: *nope\n', 'unidentified alias "nope"', 3, 5, 1, '/b'],
    ['a: 1\n---\nb: *nope\n---\nc: 1\n', 'unidentified alias "nope"', 3, 5, 1, '/b'],
  ])('%j: %s at %i:%i in document %i (path %j)', (text, message, line, column, documentIndex, path) => {
    expect(parseError(text)).toEqual({ message, line, column, documentIndex, kind: 'syntax', ...(path === undefined ? {} : { path }) });
  });

  it('reports the reason only, without js-yaml snippet or filename', () => {
    const error = parseError('a: 1\nb: : 2\n');
    expect(error.message).toBe('bad indentation of a mapping entry');
    expect(error.message).not.toContain('test.yaml');
    expect(error.message).not.toContain('\n');
  });
});

describe('duplicate keys', () => {
  it.each([
    ['a: 1\na: 2\n', 2, 1, 0, '/a'],
    ['{a: 1, a: 2}\n', 1, 8, 0, '/a'],
    ['kind: A\n---\nspec:\n  x: 1\n  x: 2\n', 5, 3, 1, '/spec/x'],
    ['---\n---\n- {k: 1}\n- k: 1\n  k: 2\n', 5, 3, 1, '/1/k'],
    ['0x10: a\n16: b\n', 2, 1, 0, '/16'], // same key once resolved
    ['a: 1\na: 2\n---\nb: 1\n---\n', 2, 1, 0, '/a'], // not the last document
    ['---\nx: 0\n---\n---\nkind: B\nkind: C\n---\nkind: D\n', 6, 1, 2, '/kind'],
    ['"a/b~c": 1\n\'a/b~c\': 2\n', 2, 1, 0, '/a~1b~0c'], // quoted, and escaped in the path
  ])('%j is an error at %i:%i in document %i, naming the key (%j)', (text, line, column, documentIndex, path) => {
    const key = path.split('/').pop()!.replace(/~1/g, '/').replace(/~0/g, '~');
    expect(parseError(text)).toEqual({ message: `duplicated mapping key ${JSON.stringify(key)}`, line, column, documentIndex, path, kind: 'syntax' });
  });

  it('refuses only the document with the duplicate key; the others are read', () => {
    const file = parseYamlFile('a: 1\n---\nb: 1\nb: 2\n---\nc: 3\n', 'test.yaml');
    expect(file.documents.map((d) => [d.index, d.value])).toEqual([
      [0, { a: 1 }],
      [2, { c: 3 }],
    ]);
    expect(file.errors).toEqual([{ message: 'duplicated mapping key "b"', line: 4, column: 1, documentIndex: 1, path: '/b', kind: 'syntax' }]);
  });
});

describe('CRLF and CR line endings', () => {
  const crlf = [
    'apiVersion: v1', //        1
    'kind: A', //               2
    'spec:', //                 3
    '  cidr: 10.0.0.0/24', //   4
    '  list:', //               5
    '  - x', //                 6
    '  - y', //                 7
    '  note: |', //             8
    '    two', //               9
    '    lines', //             10
    '---', //                   11
    '', //                      12
    'kind: B', //               13
    '---', //                   14
  ].join('\r\n') + '\r\n';

  it('constructs values without carriage returns', () => {
    expect(docs(crlf).map((d) => d.value)).toEqual([
      { apiVersion: 'v1', kind: 'A', spec: { cidr: '10.0.0.0/24', list: ['x', 'y'], note: 'two\nlines\n' } },
      { kind: 'B' },
      null,
    ]);
  });

  it.each([
    [0, '', 1, 1],
    [0, '/spec/cidr', 4, 3],
    [0, '/spec/list/1', 7, 5],
    [0, '/spec/note', 8, 3],
    [0, '/spec/missing', 3, 1],
    [1, '/kind', 13, 1],
    [2, '', 14, 1],
  ])('document %i: %j is at %i:%i', (index, path, line, column) => {
    expect(docs(crlf)[index]!.positionOf(path)).toEqual({ line, column });
  });

  it('gives each document its line', () => {
    expect(docs(crlf).map((d) => d.line)).toEqual([1, 13, 14]);
  });

  it.each([
    ['a: 1\r\nb: : 2\r\n', 'bad indentation of a mapping entry', 2, 4, 0, '/b'],
    ['a: 1\r\n---\r\nb: 1\r\nb: 2\r\n', 'duplicated mapping key "b"', 4, 1, 1, '/b'],
  ])('error in %j: %s at %i:%i', (text, message, line, column, documentIndex, path) => {
    expect(parseError(text)).toEqual({ message, line, column, documentIndex, path, kind: 'syntax' });
  });

  it('treats a lone CR as a line break', () => {
    const doc = only('a: 1\rb:\r  c: 2\r');
    expect(doc.value).toEqual({ a: 1, b: { c: 2 } });
    expect(doc.positionOf('/b/c')).toEqual({ line: 3, column: 3 });
  });
});

describe('a large file', () => {
  // How fast is measured by `npm run bench` (bench/run.ts admits files of thousands of documents), not here.
  it('parses a 5,000-document file with every position right', () => {
    const one = (i: number): string =>
      lines(
        `# subnet ${i}`,
        'apiVersion: netform.io/v1',
        'kind: Subnet',
        'metadata:',
        `  name: s${i}`,
        `  labels: {tier: web, idx: "${i}"}`,
        'spec:',
        `  cidr: 10.${i % 256}.0.0/24`,
        '  gateways:',
        '  - 10.0.0.1',
        '  - ip: 10.0.0.2',
        '    weight: 3',
      );
    const text = Array.from({ length: 5000 }, (_, i) => one(i)).join('---\n'); // 13 lines per document
    const result = parseYamlDocuments(text);
    const last = result.ok ? result.documents[4999] : undefined;
    const position = last?.positionOf('/spec/gateways/1/weight');

    expect(result.ok && result.documents.length).toBe(5000);
    expect(last?.line).toBe(13 * 4999 + 2);
    expect(position).toEqual({ line: 13 * 4999 + 12, column: 5 });
    expect((last?.value as { metadata: { name: string } }).metadata.name).toBe('s4999');
  });
});
