import { describe, expect, it } from 'vitest';
import {
  LABEL,
  containerName,
  nameFragment,
  networkName,
  newDeploymentId,
  nodeLabels,
  projectHash,
  scopeFilter,
  stableDeploymentId,
  volumeName,
} from './labels.js';

const scope = { projectRoot: '/home/alice/k3s', composition: 'composition', flavour: 'docker' };

describe('labels and names', () => {
  it('hashes the project root stably and differently per root', () => {
    expect(projectHash('/a')).toBe(projectHash('/a'));
    expect(projectHash('/a')).not.toBe(projectHash('/b'));
    expect(projectHash('/a')).toMatch(/^[0-9a-f]{16}$/);
  });

  it('labels a node with project, composition, flavour, deployment, host and role', () => {
    const labels = nodeLabels(scope, 'dep1', { host: 'client2', role: 'client' });
    expect(labels).toMatchObject({
      [LABEL.project]: projectHash(scope.projectRoot),
      [LABEL.composition]: 'composition',
      [LABEL.flavour]: 'docker',
      [LABEL.deployment]: 'dep1',
      [LABEL.host]: 'client2',
      [LABEL.role]: 'client',
    });
  });

  it('filters a scope without the deployment id (finds leftovers of any start)', () => {
    const f = scopeFilter(scope);
    expect(f.label).toHaveLength(3);
    expect(f.label.join(' ')).not.toContain(LABEL.deployment);
  });

  it('names containers nxc-<composition>-<host>-<short hash>', () => {
    const hash = projectHash(scope.projectRoot).slice(0, 8);
    expect(containerName(scope, 'server')).toBe(`nxc-composition-server-${hash}`);
    expect(networkName(scope, 'mwr507nn-49953f')).toBe(`nxc-composition-${hash}-49953f`);
    expect(volumeName(scope, 'shared')).toBe(`nxc-composition-${hash}-shared`);
  });

  it('makes any string a valid Docker name fragment', () => {
    expect(nameFragment('my comp/ä')).toBe('my-comp-');
    expect(nameFragment('--x')).toBe('x');
    expect(nameFragment('')).toBe('x');
    expect(containerName({ ...scope, composition: 'a b' }, 'n')).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
  });

  it('gives distinct deployment ids', () => {
    expect(newDeploymentId(1)).not.toBe(newDeploymentId(1));
  });

  it('the deployment id of the same nodes in the same scope is the same at every start', () => {
    const nodes = [
      { host: 'client', role: 'client' },
      { host: 'server', role: 'server' },
    ];
    const id = stableDeploymentId(scope, nodes);
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(
      stableDeploymentId(
        { ...scope },
        nodes.map((n) => ({ ...n })),
      ),
    ).toBe(id);
    expect(stableDeploymentId(scope, [nodes[1]!, nodes[0]!])).not.toBe(id);
    expect(stableDeploymentId({ ...scope, projectRoot: '/other' }, nodes)).not.toBe(id);
    expect(stableDeploymentId(scope, [{ host: 'client', role: 'server' }, nodes[1]!])).not.toBe(id);
    // its network name keeps the whole id
    expect(networkName(scope, id).endsWith(`-${id}`)).toBe(true);
  });
});
