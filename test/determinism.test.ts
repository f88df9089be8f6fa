/**
 * Determinism: with the same inputs, what nxc writes is byte-identical from one run to the
 * next. The compose info comes from two builds of the real demo (two copies in two folders,
 * real Nix); every generator of a file or command line nxc hands to nodes, engines or
 * platforms runs twice, an hour of clock apart, from inputs made afresh each time: the
 * deployment document (file, HTTP body, kernel form), the docker engine requests, compose file
 * and names, the QEMU command line and config file, the kexec command line and the Kadeploy
 * environment. (The docker e2e plugins/flavour-docker/test/replay.test.ts compares the files
 * of two real starts on the engine.)
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { build, loadProject } from '../packages/core/src/index.js';
import {
  type ComposeInfo,
  type DeploymentDocument,
  buildDeploymentDocument,
  deploymentBody,
  encodeDeploymentForKernel,
  writeDeploymentDocument,
} from '../packages/core/src/public/flavour.js';
import { throwAwayProject } from '../packages/core/src/public/testing.js';
import { inlineDeployment, kexecAppend } from '../packages/g5k/src/kernel-cmdline.js';
import { composeDocument, writeComposeFile } from '../plugins/flavour-docker/src/compose-file.js';
import { nodeRuntime, readDockerExtras, toCreateOptions } from '../plugins/flavour-docker/src/containers.js';
import {
  containerName,
  networkName,
  stableDeploymentId,
  volumeName,
} from '../plugins/flavour-docker/src/labels.js';
import { kadeployEnvironment, renderEnvironment } from '../plugins/flavour-g5k-image/src/environment.js';
import {
  deploymentId,
  kernelCmdline,
  macAddress,
  qemuArgs,
  vmConfig,
} from '../plugins/flavour-qemu/src/vm-spec.js';
import { OFFLINE_NIX_FLAGS, demoProject } from './fixtures/demo-project.mjs';

const S = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz';

/** Inputs made afresh for each run (new objects, same values). */
function inputs() {
  const composeInfo: ComposeInfo = {
    source: `${S}-compose-info.json`,
    format: 'nxc',
    composition: 'composition',
    flavour: { name: 'docker', image: 'docker' },
    system: 'x86_64-linux',
    roles: {
      client: { init: `${S}-client/init`, toplevel: `${S}-client` },
      server: { init: `${S}-server/init`, toplevel: `${S}-server` },
    },
    all: { kernel: `${S}-kernel/bzImage`, initrd: `${S}-initrd/initrd`, cmdline: 'quiet' },
    extra: {},
  };
  const nodes = [
    { role: 'client', host: 'client1', address: '10.0.0.2' },
    { role: 'client', host: 'client2', address: '10.0.0.3' },
    { role: 'server', host: 'server', address: '10.0.0.4' },
  ];
  const uuids = {
    client1: '0b7e7a52-5f0e-4d5e-9a59-2f3c9f1c6a01',
    client2: '1c8f8b63-6f1f-4e6f-8b6a-3f4d0f2d7b12',
    server: '2d909c74-7020-4f70-9c7b-4f5e1f3e8c23',
  };
  const parameters = { rate: 5, 'client2.rate': 20, bench: { name: 'x', sizes: [1, 2] } };
  return { composeInfo, nodes, uuids, parameters };
}

function document(): DeploymentDocument {
  const { composeInfo, nodes, uuids, parameters } = inputs();
  return buildDeploymentDocument({
    composeInfo,
    nodes,
    sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO0 nxc',
    user: 'alice',
    parameters,
    uuids,
  });
}

const projects: string[] = [];
afterAll(async () => {
  for (const p of projects) await rm(p, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `make` twice, the clock an hour apart, and returns both results. */
async function twice<T>(make: () => T | Promise<T>): Promise<[T, T]> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-12-01T10:00:00Z'));
  const a = await make();
  vi.setSystemTime(new Date('2026-12-01T11:00:00Z'));
  const b = await make();
  vi.useRealTimers();
  return [a, b];
}

describe('nxc writes the same bytes from the same inputs', () => {
  it('the deployment document: its file, HTTP body and kernel form', async () => {
    const [a, b] = await twice(async () => {
      const project = throwAwayProject({ plugins: [], prefix: 'nxc-determinism-' });
      projects.push(project.root);
      const doc = document();
      const file = await writeDeploymentDocument(project, 'composition', 'docker', doc);
      return {
        file: await readFile(file, 'utf8'),
        body: deploymentBody(doc).body.toString('base64'),
        kernel: encodeDeploymentForKernel(doc).value,
      };
    });
    expect(a.file).toContain('"0b7e7a52-5f0e-4d5e-9a59-2f3c9f1c6a01"');
    expect(b).toEqual(a);
  });

  it('docker: engine requests, compose file and object names', async () => {
    const [a, b] = await twice(async () => {
      const project = throwAwayProject({ plugins: [], prefix: 'nxc-determinism-' });
      projects.push(project.root);
      const { composeInfo, nodes } = inputs();
      const scope = { projectRoot: '/home/alice/exp', composition: 'composition', flavour: 'docker' };
      const id = stableDeploymentId(scope, nodes);
      const extras = readDockerExtras(
        {
          docker: {
            extraVolumes: ['data:/data', '/srv/in:/in:ro'],
            dockerPorts: { server: ['8080:80'] },
            systemd: true,
          },
        },
        { source: 'compose info', projectRoot: scope.projectRoot, defaultSystemd: false },
      );
      const runtimes = nodes.map((n) =>
        nodeRuntime({
          scope,
          deploymentId: id,
          node: {
            ...n,
            init: composeInfo.roles[n.role]!.init,
            toplevel: composeInfo.roles[n.role]!.toplevel,
          },
          image: 'nxc-base:abc',
          network: networkName(scope, id),
          deploymentFile: '/home/alice/exp/deploy/composition::docker.json',
          sharedVolume: volumeName(scope, 'shared'),
          extras,
        }),
      );
      const input = {
        name: networkName(scope, id),
        network: { name: networkName(scope, id), subnet: '10.0.0.0/28', gateway: '10.0.0.1', labels: {} },
        volumes: [{ name: volumeName(scope, 'shared'), labels: {} }],
        nodes: runtimes,
      };
      const file = await writeComposeFile(project.artifactDir, input);
      return {
        id,
        names: nodes.map((n) => containerName(scope, n.host)),
        create: JSON.stringify(runtimes.map(toCreateOptions)),
        compose: JSON.stringify(composeDocument(input)),
        file: await readFile(file, 'utf8'),
      };
    });
    expect(b).toEqual(a);
  });

  it('QEMU: kernel command line, argv and config file of a VM', async () => {
    const [a, b] = await twice(() => {
      const { composeInfo } = inputs();
      const id = deploymentId('/home/alice/exp', 'composition', 'vm');
      const run = '/run/user/1000/nxc/qemu-run';
      const append = kernelCmdline({
        image: composeInfo.all.cmdline,
        deploy: encodeDeploymentForKernel(document()).value,
        flavour: 'vm',
        host: 'client2',
        address: '10.100.0.12',
        extra: 'loglevel=4',
      });
      const spec = {
        name: `nxc-${id}-client2`,
        host: 'client2',
        kernel: composeInfo.all.kernel!,
        initrd: composeInfo.all.initrd!,
        append,
        config: join(run, 'client2.cfg'),
        accel: 'tcg' as const,
        memoryMb: 1024,
        cpus: 1,
        sshPort: 22022,
        segment: join(run, 'segment.sock'),
        index: 1,
        consoleLog: join(run, 'client2.log'),
        qmpSocket: join(run, 'client2.qmp'),
        pidFile: join(run, 'client2.pid'),
        shareStore: true,
      };
      return { argv: qemuArgs(spec), config: vmConfig(spec), mac: macAddress(1, 1) };
    });
    expect(b).toEqual(a);
  });

  it('g5k: kexec command line and Kadeploy environment', async () => {
    const [a, b] = await twice(() => {
      const inline = inlineDeployment(document(), {
        flavourParams: 'nxc.flavour=g5k-ramdisk',
        kernelParams: 'quiet',
      });
      const served = kexecAppend('http://10.0.0.1:8000/deployment.json', {
        deploySha256: deploymentBody(document()).sha256,
        flavourParams: 'nxc.flavour=g5k-nfs-store',
      });
      const env = renderEnvironment(
        kadeployEnvironment({
          composition: 'composition',
          system: 'x86_64-linux',
          imageUrl: 'local:///home/alice/exp/artifact/composition/g5k-image/image.tar.xz',
          kernelParams: served,
          author: 'alice',
          roles: ['client', 'server'],
        }),
      );
      return { inline, served, env };
    });
    expect(a.inline).toBeDefined();
    expect(b).toEqual(a);
  });
});

describe('the compose info of the real demo', () => {
  const saved = process.env.NXC_NIX_FLAGS;
  const demos: Array<ReturnType<typeof demoProject>> = [];
  afterAll(() => {
    for (const d of demos) d.cleanup();
    if (saved === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
    else process.env.NXC_NIX_FLAGS = saved;
  });

  it('two copies built in two folders give the same store path and bytes', async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    const built: Array<{ outPath?: string; text: string }> = [];
    for (const prefix of ['nxc-determinism-a-', 'nxc-determinism-b-']) {
      const demo = demoProject(prefix);
      demos.push(demo);
      const result = await build(await loadProject(demo.dir), { flavour: 'docker' });
      const target = result.targets[0]!;
      built.push({
        ...(target.outPath ? { outPath: target.outPath } : {}),
        text: await readFile(target.composeInfoPath, 'utf8'),
      });
    }
    expect(built[0]!.outPath).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/);
    expect(built[1]).toEqual(built[0]);
  });
});
