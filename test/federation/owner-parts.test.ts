import { describe, expect, it } from 'vitest';
import { ownerVerb, splitByOwner, type PartOutcome } from '../../controller/api/owner-parts.js';

const owners: Record<string, string | null> = { n1: 'c1', n2: 'c2', n3: 'c1', n4: null, n5: 'c3' };
const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];

describe("a request's parts by owner", () => {
  it('splits the nodes by owner in their order, the unowned apart', () => {
    expect(splitByOwner(nodes, (n) => owners[n]!)).toEqual({
      parts: [
        { owner: 'c1', nodes: ['n1', 'n3'] },
        { owner: 'c2', nodes: ['n2'] },
        { owner: 'c3', nodes: ['n5'] },
      ],
      unowned: ['n4'],
    });
  });

  it('sends power actions, offline/online, build and one-node console verbs to owners; reads stay where asked', () => {
    const resolve = (range: string) => range.split(',');
    expect(ownerVerb('power')!.nodes({ action: 'cycle', range: 'n1,n2' }, resolve)).toEqual(['n1', 'n2']);
    expect(ownerVerb('power')!.nodes({ action: 'status', range: 'n1,n2' }, resolve)).toBeNull();
    expect(ownerVerb('console-attach')!.nodes({ node: 'n2', force: false }, resolve)).toEqual(['n2']);
    expect(ownerVerb('offline')!.partArgs!({ range: 'n[1-9]', reason: 'fan' }, ['n001', 'n002', 'n003'])).toEqual({ range: 'n[001-003]', reason: 'fan' });
    for (const read of ['nodes', 'show', 'summary', 'history', 'groups', 'define', 'set'] as const) expect(ownerVerb(read)).toBeUndefined();
  });

  it("merges power results in the request's order, a failed part as one error per node naming it", () => {
    const outcomes: PartOutcome[] = [
      { part: { owner: 'c1', nodes: ['n1', 'n3'] }, ok: true, data: { action: 'on', results: [{ node: 'n3', ok: true, ms: 5 }, { node: 'n1', ok: true, ms: 4 }] } },
      { part: { owner: 'c2', nodes: ['n2', 'n5'] }, ok: false, error: 'controller c2, its owner, did not answer within 5 s', code: 'owner-silent' },
    ];
    expect(ownerVerb('power')!.merge!({ action: 'on', range: 'x' }, ['n1', 'n2', 'n3', 'n5'], outcomes)).toEqual({
      action: 'on',
      results: [
        { node: 'n1', ok: true, ms: 4 },
        { node: 'n2', ok: false, error: 'node n2: controller c2, its owner, did not answer within 5 s', code: 'owner-silent', ms: 0 },
        { node: 'n3', ok: true, ms: 5 },
        { node: 'n5', ok: false, error: 'node n5: controller c2, its owner, did not answer within 5 s', code: 'owner-silent', ms: 0 },
      ],
    });
  });

  it('merges offline into the nodes changed and the nodes failed, an owner\'s own message kept', () => {
    const outcomes: PartOutcome[] = [
      { part: { owner: 'c2', nodes: ['n2'] }, ok: false, error: 'node n2: offline refused: partition 3 is owned by c3; send it to c3', code: 'not-owner' },
      { part: { owner: 'c1', nodes: ['n1', 'n3'] }, ok: true, data: { nodes: ['n1', 'n3'] } },
    ];
    expect(ownerVerb('offline')!.merge!({ range: 'x', reason: 'fan' }, ['n1', 'n2', 'n3'], outcomes)).toEqual({
      nodes: ['n1', 'n3'],
      failed: [{ node: 'n2', error: 'node n2: offline refused: partition 3 is owned by c3; send it to c3' }],
    });
    expect(ownerVerb('online')!.merge!({ range: 'x' }, ['n1', 'n3'], [outcomes[1]!])).toEqual({ nodes: ['n1', 'n3'] });
  });
});
