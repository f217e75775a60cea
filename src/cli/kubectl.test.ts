import { describe, expect, it } from 'vitest';
import { kubectlApproveCommand } from './cluster-plan.ts';
import { parseObjectRef, resolveKind } from './kubectl.ts';

describe('kubectl netform: naming objects', () => {
  it.each([
    ['Network', 'Network'],
    ['network', 'Network'],
    ['networks', 'Network'],
    ['networks.netform.io', 'Network'],
    ['nnet', 'Network'],
    ['nhost', 'Host'],
    ['vnicattachments', 'VnicAttachment'],
  ])('%s is %s', (word, kind) => {
    expect(resolveKind(word)).toBe(kind);
  });

  it('refuses what is not a netform kind', () => {
    expect(resolveKind('pods')).toBeUndefined();
    expect(() => parseObjectRef('pods/x', undefined, undefined)).toThrow(/"pods" is not a netform kind/);
  });

  it('KIND/NAME for cluster-scoped kinds; KIND/NAMESPACE/NAME (like netform keys) or -n for namespaced ones, else the context\'s namespace', () => {
    expect(parseObjectRef('network/web', undefined, 'team-a')).toEqual({ kind: 'Network', name: 'web' });
    expect(parseObjectRef('vnic/team-a/web1-nic1', undefined, undefined)).toEqual({ kind: 'VnicAttachment', name: 'web1-nic1', namespace: 'team-a' });
    expect(parseObjectRef('vnic/web1-nic1', 'team-b', 'team-a')).toEqual({ kind: 'VnicAttachment', name: 'web1-nic1', namespace: 'team-b' });
    expect(parseObjectRef('vnic/web1-nic1', undefined, 'team-a')).toEqual({ kind: 'VnicAttachment', name: 'web1-nic1', namespace: 'team-a' });
    expect(parseObjectRef('vnic/web1-nic1', undefined, undefined)).toEqual({ kind: 'VnicAttachment', name: 'web1-nic1', namespace: 'default' });
    expect(() => parseObjectRef('network/team-a/web', undefined, undefined)).toThrow(/cluster-scoped/);
    expect(() => parseObjectRef('vnic/team-a/a', 'team-b', undefined)).toThrow(/names namespace team-a, -n names team-b/);
    expect(() => parseObjectRef('network', undefined, undefined)).toThrow(/KIND\/NAME/);
    expect(() => parseObjectRef('network//x', undefined, undefined)).toThrow(/KIND\/NAME/);
  });

  it('the approve command a plan suggests names the object the way approve reads it', () => {
    const d = `sha256:${'c'.repeat(64)}`;
    expect(kubectlApproveCommand('Network/web', d)).toBe(`kubectl netform approve Network/web --plan ${d}`);
    expect(kubectlApproveCommand('VnicAttachment/team-a/web1-nic1', d)).toBe(`kubectl netform approve VnicAttachment/web1-nic1 -n team-a --plan ${d}`);
  });
});
