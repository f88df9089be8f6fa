import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const loaded = (name: string) => Object.keys(require.cache).some((f) => f.includes(`/node_modules/${name}/`));

describe('the g5k-image deploy side loads yaml and execa when a start needs them (issue #17)', () => {
  it('importing it loads neither; writing an environment description loads yaml', async () => {
    // vitest runs each test file in its own process: nothing else loaded them here
    const { deployer } = await import('./deployer.js');
    expect(typeof deployer.start).toBe('function');
    expect(loaded('yaml')).toBe(false);
    // execa is an ES module; cross-spawn, which it loads, is CommonJS and shows in the cache
    expect(loaded('cross-spawn')).toBe(false);
    const { kadeployEnvironment, renderEnvironment } = await import('./environment.js');
    const text = renderEnvironment(
      kadeployEnvironment({
        composition: 'composition',
        system: 'x86_64-linux',
        imageUrl: 'local:///tmp/image.tar.xz',
        kernelParams: 'deploy=x',
        author: 'me',
      }),
    );
    expect(text).toMatch(/^---\n/);
    expect(text).toContain('kernel_params: deploy=x\n');
    expect(loaded('yaml')).toBe(true);
  });
});
