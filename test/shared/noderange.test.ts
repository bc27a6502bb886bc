import { describe, expect, it } from 'vitest';
import { expandNodeRange, NodeRangeError, type NodeRangeContext } from '../../shared/noderange.js';
import { compressNodeRange } from '../../shared/noderange-compress.js';

const seq = (prefix: string, from: number, to: number, width = 0) => Array.from({ length: to - from + 1 }, (_, k) => prefix + String(from + k).padStart(width, '0'));

const nodes = [...seq('n', 1, 20, 3), ...seq('gpu', 1, 4), ...seq('rack1n', 1, 4, 2), ...seq('rack2n', 1, 4, 2), 'login-1', 'login-2'];
const ctx: NodeRangeContext = {
  nodes,
  groups: {
    rack1: seq('rack1n', 1, 4, 2),
    rack2: seq('rack2n', 1, 4, 2),
    gpu: ['rack1n02', 'rack2n03', 'gpu1'],
    racks: ['rack1', 'rack2'],
    compute: ['n001', 'n002', 'n003'],
  },
};
const expand = (range: string, opts?: Parameters<typeof expandNodeRange>[2]) => expandNodeRange(range, ctx, opts);
const open = (range: string, limit?: number) => expandNodeRange(range, { nodes: [], groups: {} }, { allowUnknown: true, ...(limit ? { limit } : {}) });

function errorOf(fn: () => unknown): NodeRangeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NodeRangeError);
    return err as NodeRangeError;
  }
  throw new Error('expected a NodeRangeError, got none');
}

describe('expandNodeRange: names and lists', () => {
  it('lists names in order, without duplicates', () => {
    expect(expand('n003,n001,n003')).toEqual(['n003', 'n001']);
    expect(expand(' n003 , n001 ')).toEqual(['n003', 'n001']);
  });

  it('expands all to every known node in context order', () => {
    expect(expand('all')).toEqual(nodes);
  });

  it('keeps names that contain "-" when they are known nodes', () => {
    expect(expand('login-1,login-2')).toEqual(['login-1', 'login-2']);
  });
});

describe('expandNodeRange: numeric ranges', () => {
  it('pads to the width of the first bound', () => {
    expect(expand('n[001-004]')).toEqual(['n001', 'n002', 'n003', 'n004']);
    expect(open('n[8-11]')).toEqual(['n8', 'n9', 'n10', 'n11']);
    expect(open('n[08-11]')).toEqual(['n08', 'n09', 'n10', 'n11']);
    expect(open('n[098-101]')).toEqual(['n098', 'n099', 'n100', 'n101']);
    expect(open('n[7-7]')).toEqual(['n7']);
  });

  it('takes lists inside brackets, each element padded by its own first bound', () => {
    expect(expand('n[001,003,005-007]')).toEqual(['n001', 'n003', 'n005', 'n006', 'n007']);
    expect(open('x[1,03-04]')).toEqual(['x1', 'x03', 'x04']);
  });

  it('combines several bracket groups, leftmost varying slowest, with a suffix', () => {
    expect(expand('rack[1-2]n[01-02]')).toEqual(['rack1n01', 'rack1n02', 'rack2n01', 'rack2n02']);
    expect(open('r[1-2]c[1-2]-bmc')).toEqual(['r1c1-bmc', 'r1c2-bmc', 'r2c1-bmc', 'r2c2-bmc']);
  });

  it("accepts xCAT's dash form between two names with the same prefix", () => {
    expect(expand('n001-n004')).toEqual(['n001', 'n002', 'n003', 'n004']);
    expect(open('node8-node10')).toEqual(['node8', 'node9', 'node10']);
    expect(open('a-b1-a-b3')).toEqual(['a-b1', 'a-b2', 'a-b3']);
    expect(open('n1a-n3a')).toEqual(['n1a', 'n2a', 'n3a']);
  });

  it('treats a dash between different prefixes as a plain name', () => {
    expect(open('rack1-n01')).toEqual(['rack1-n01']);
    expect(errorOf(() => expand('gpu1-n004')).message).toBe('noderange "gpu1-n004": unknown node or group "gpu1-n004" at column 1');
  });

  it('resolves generated names that are groups to their members', () => {
    expect(expand('rack[1-2]')).toEqual([...seq('rack1n', 1, 4, 2), ...seq('rack2n', 1, 4, 2)]);
  });
});

describe('expandNodeRange: groups, exclusion, intersection, regex', () => {
  it('expands groups, including nested groups', () => {
    expect(expand('compute')).toEqual(['n001', 'n002', 'n003']);
    expect(expand('racks')).toEqual([...seq('rack1n', 1, 4, 2), ...seq('rack2n', 1, 4, 2)]);
  });

  it('refuses group cycles', () => {
    const cyclic = { nodes: ['a1'], groups: { g1: ['a1', 'g2'], g2: ['g3'], g3: ['g1'] } };
    expect(errorOf(() => expandNodeRange('g1', cyclic)).message).toBe('noderange "g1": group cycle g1 → g2 → g3 → g1');
  });

  it('refuses a group member that is neither node nor group, unless unknowns are allowed', () => {
    const loose = { nodes: ['a1'], groups: { g: ['a1', 'ghost'] } };
    expect(errorOf(() => expandNodeRange('g', loose)).detail).toBe('group "g" has member "ghost", which is neither a known node nor a group');
    expect(expandNodeRange('g', loose, { allowUnknown: true })).toEqual(['a1', 'ghost']);
  });

  it('does not treat Object.prototype keys as groups', () => {
    expect(errorOf(() => expand('constructor')).detail).toBe('unknown node or group "constructor"');
  });

  it('excludes from what the items to its left selected', () => {
    expect(expand('n[001-006],-n003')).toEqual(['n001', 'n002', 'n004', 'n005', 'n006']);
    expect(expand('n[001-006],-n[002-004]')).toEqual(['n001', 'n005', 'n006']);
    expect(expand('all,-n[001-020],-rack1,-gpu')).toEqual(['gpu2', 'gpu3', 'gpu4', 'rack2n01', 'rack2n02', 'rack2n04', 'login-1', 'login-2']);
    // a later item adds an excluded node back, at the end
    expect(expand('n[001-003],-n002,n002')).toEqual(['n001', 'n003', 'n002']);
  });

  it('refuses an exclusion with nothing before it', () => {
    const e = errorOf(() => expand('-n005'));
    expect(e.message).toBe('noderange "-n005": exclusion "-n005" has nothing before it to exclude from at column 1 (write "all,-n005")');
  });

  it('intersects with "@"', () => {
    expect(expand('rack1@gpu')).toEqual(['rack1n02']);
    expect(expand('racks@gpu')).toEqual(['rack1n02', 'rack2n03']);
    expect(expand('all@gpu@rack2')).toEqual(['rack2n03']);
    expect(expand('rack1,-rack1@gpu')).toEqual(['rack1n01', 'rack1n03', 'rack1n04']);
  });

  it('matches regular expressions against known node names', () => {
    expect(expand('/^n00[1-3]$/')).toEqual(['n001', 'n002', 'n003']);
    expect(expand('/^gpu/,n001')).toEqual(['gpu1', 'gpu2', 'gpu3', 'gpu4', 'n001']);
    expect(expand('/^n0{2}[0-9]$/')).toEqual(seq('n', 1, 9, 3)); // braces and commas-free
    expect(expand('/^gpu[12]$/@gpu')).toEqual(['gpu1']);
    expect(expand('/^n01[0-2]$,gpu4')).toEqual(['n010', 'n011', 'n012', 'gpu4']); // xCAT form
    expect(errorOf(() => expand('/^rack\\d/n0[12]$/')).detail).toBe('selects no nodes'); // escaped-looking slash inside is not an end
    expect(expand('/^n00{1,2}1$/')).toEqual(['n001']); // a comma inside /…/ belongs to the regex
    expect(expand('gpu,-/^rack/')).toEqual(['gpu1']);
    expect(expand('/^n0[0-9]+$/')).toEqual(seq('n', 1, 20, 3));
  });
});

describe('expandNodeRange: errors say what and where', () => {
  const cases: [string, string][] = [
    ['n[001-0x5]', 'noderange "n[001-0x5]": bad range bound "0x5" at column 7'],
    ['n[1-]', 'noderange "n[1-]": bad range bound "" at column 5'],
    ['n[5-1]', 'noderange "n[5-1]": reversed range "5-1" at column 3'],
    ['n005-n001', 'noderange "n005-n001": reversed range "005-001" at column 2'],
    ['n[1-3', 'noderange "n[1-3": unclosed "[" at column 2'],
    ['n1-3]', 'noderange "n1-3]": unmatched "]" at column 5'],
    ['n[1[2]]', 'noderange "n[1[2]]": nested "[" at column 4'],
    ['n[]', 'noderange "n[]": empty "[]" at column 2'],
    ['n[1,,2]', 'noderange "n[1,,2]": empty element inside "[]" at column 5'],
    ['n001,,n002', 'noderange "n001,,n002": empty item at column 6'],
    ['n001,', 'noderange "n001,": empty item at column 6'],
    [',n001', 'noderange ",n001": empty item at column 1'],
    ['n001@', 'noderange "n001@": nothing to intersect after "@" at column 6'],
    ['n001,-', 'noderange "n001,-": nothing to exclude after "-" at column 7'],
    ['n0$1', 'noderange "n0$1": bad character "$" at column 3'],
    ['n[1 2]', 'noderange "n[1 2]": bad range bound "1 2" at column 3'],
    ['n[1-3,n5', 'noderange "n[1-3,n5": unclosed "[" at column 2'],
    ['n001 n002', 'noderange "n001 n002": unexpected "n" at column 6 (separate items with ",")'],
    ['^/tmp/nodes', 'noderange "^/tmp/nodes": node list files ("^file") are not supported at column 1'],
    ['/(/', 'noderange "/(/": bad regular expression /(/: Invalid regular expression: /(/: Unterminated group at column 1'],
    ['//', 'noderange "//": empty regular expression at column 1'],
    ['   ', 'noderange "   ": empty noderange'],
    ['n[1234567890123456-1234567890123457]', 'noderange "n[1234567890123456-1234567890123457]": range bound "1234567890123456" has more than 15 digits at column 3'],
  ];
  it.each(cases)('%s', (range, message) => {
    expect(errorOf(() => expand(range)).message).toBe(message);
  });

  it('carries the column as data', () => {
    const e = errorOf(() => expand('n001,n[9-1]'));
    expect([e.range, e.column, e.detail]).toEqual(['n001,n[9-1]', 8, 'reversed range "9-1"']);
  });

  it('refuses invalid node names even when unknowns are allowed', () => {
    expect(errorOf(() => open('[1-2]n')).message).toMatch(/^noderange "\[1-2\]n": "1n" is not a valid node name: node name must start with a letter.* at column 1$/);
  });
});

describe('expandNodeRange: a range that selects nothing', () => {
  it('is refused, naming the range', () => {
    expect(errorOf(() => expandNodeRange('all', { nodes: [], groups: {} })).message).toBe('noderange "all": selects no nodes');
    expect(errorOf(() => expandNodeRange('empty', { nodes: ['n1'], groups: { empty: [] } })).message).toBe('noderange "empty": selects no nodes');
    expect(errorOf(() => expand('rack1,-rack1')).detail).toBe('selects no nodes');
    expect(errorOf(() => expand('rack1@compute')).detail).toBe('selects no nodes');
    expect(errorOf(() => open('new1,-new1')).detail).toBe('selects no nodes');
  });
});

describe('expandNodeRange: unknown names', () => {
  it('suggests up to 3 close known names for a typo', () => {
    const e = errorOf(() => expand('n001,nO02'));
    expect(e.message).toBe('noderange "n001,nO02": unknown node or group "nO02" at column 6 (did you mean n002?)');
    expect(errorOf(() => expand('n01')).hint).toBe('did you mean n001, n010, n011?');
    expect(errorOf(() => expand('rakc1')).hint).toBe('did you mean rack1?'); // a swap is one edit
    expect(errorOf(() => expand('zzzzzz')).hint).toBeNull();
  });

  it('lists unknown names a range generates', () => {
    const e = errorOf(() => expand('n[018-025]'));
    expect(e.message).toBe('noderange "n[018-025]": "n[018-025]" names unknown nodes n021, n022, n023 (+2 more) at column 1');
    expect(errorOf(() => expand('n020-n021')).detail).toBe('"n020-n021" names unknown node n021');
  });

  it('checks excluded names too (a typo there would silently exclude nothing)', () => {
    expect(errorOf(() => expand('n001,-n0001')).detail).toBe('unknown node or group "n0001"');
  });

  it('accepts valid unknown names when allowed', () => {
    expect(expand('n001,newnode,n[021-022]', { allowUnknown: true })).toEqual(['n001', 'newnode', 'n021', 'n022']);
  });
});

describe('expandNodeRange: limit', () => {
  it('refuses a range that would generate more than the limit, before generating it', () => {
    const e = errorOf(() => open('n[1-999999999]'));
    expect(e.message).toBe('noderange "n[1-999999999]": "n[1-999999999]" expands to 999999999 names, more than the limit of 100000 at column 1');
    expect(errorOf(() => open('a[1-1000]b[1-1000]')).detail).toBe('"a[1-1000]b[1-1000]" expands to 1000000 names, more than the limit of 100000');
    expect(errorOf(() => open('n1-n200000')).detail).toBe('"n1-n200000" expands to 200000 names, more than the limit of 100000');
  });

  it('refuses a total over the limit', () => {
    expect(open('a[1-6],b[1-6]', 12)).toHaveLength(12);
    expect(errorOf(() => open('a[1-6],b[1-7]', 12)).message).toBe('noderange "a[1-6],b[1-7]": selects more than 12 nodes');
    expect(errorOf(() => expand('all', { limit: 10 })).detail).toBe('selects more than 10 nodes');
  });

  it('expands up to the default limit', () => {
    const names = open('n[000001-100000]');
    expect(names).toHaveLength(100_000);
    expect([names[0], names[99_999]]).toEqual(['n000001', 'n100000']);
  });

  it('refuses a nonsensical limit', () => {
    expect(() => open('n1', -1)).toThrow('noderange limit must be a positive integer, got -1');
  });
});

describe('compressNodeRange', () => {
  it('folds consecutive numbers and keeps lone names plain, groups in first-appearance order', () => {
    expect(compressNodeRange(['n001', 'n002', 'n003', 'n004', 'n010', 'gpu1', 'gpu2'])).toBe('n[001-004],n010,gpu[1-2]');
    expect(compressNodeRange(['n3', 'n1', 'n2', 'login', 'n3'])).toBe('n[1-3],login');
    expect(compressNodeRange(['n9', 'n10', 'n11'])).toBe('n[9-11]');
    expect(compressNodeRange(['n098', 'n099', 'n100'])).toBe('n[098-100]');
    expect(compressNodeRange(['n1', 'n01'])).toBe('n1,n01');
    expect(compressNodeRange(['r1c1-bmc', 'r1c2-bmc'])).toBe('r1c[1-2]-bmc');
    expect(compressNodeRange([])).toBe('');
  });

  it('round-trips through expandNodeRange on random sets', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const prefixes = ['n', 'gpu', 'rack1n', 'x.y_', 'login', 'c'];
    const suffixes = ['', '', '', '-ib', 'a'];
    for (let round = 0; round < 300; round++) {
      const names = new Set<string>();
      const count = 1 + rand(60);
      for (let k = 0; k < count; k++) {
        const width = [0, 0, 2, 3, 4][rand(5)]!;
        const withNumber = rand(10) > 0;
        const name = prefixes[rand(prefixes.length)]! + (withNumber ? String(rand(width ? 10 ** width : 1200)).padStart(width, '0') + suffixes[rand(suffixes.length)]! : '');
        names.add(name);
      }
      const list = [...names];
      const text = compressNodeRange(list);
      const back = expandNodeRange(text, { nodes: list, groups: {} });
      expect(new Set(back), `round ${round}: ${text}`).toEqual(names);
      expect(back).toHaveLength(names.size);
      expect(text.length).toBeLessThanOrEqual(list.join(',').length);
    }
  });
});
