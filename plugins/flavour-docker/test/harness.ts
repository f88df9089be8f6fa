/**
 * What the docker flavour's deployer-level tests share: core's throw-away project and
 * contexts (`@nxc/core/testing`) for this flavour, and what "left behind" means on the
 * engine: any container, network or volume labelled with the project.
 */
import { rmSync } from 'node:fs';
import { type Project, build, loadProject, stop } from '@nxc/core';
import { type FlavourHarness, flavourHarness, planNodes, throwAwayProject } from '@nxc/core/testing';
import Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import { OFFLINE_NIX_FLAGS, demoProject } from '../../../test/fixtures/demo-project.mjs';
import { dockerStateSchema } from '../src/deployer.js';
import { dockerOptionsSchema } from '../src/options.js';

export type Harness = FlavourHarness;

/** A throw-away project whose config lists this plugin. */
export function tempProject(prefix = 'nxc-docker-e2e-'): Project {
  return throwAwayProject({ plugins: ['@nxc/flavour-docker'], prefix });
}

/**
 * Contexts core would hand the docker flavour for `project`: options parsed and state checked
 * by the flavour's schemas, readiness timeout 60 s.
 */
export function harness(project: Project, composition = 'composition', flavour = 'docker'): Harness {
  return flavourHarness({
    flavour,
    project,
    composition,
    optionsSchema: dockerOptionsSchema,
    stateSchema: dockerStateSchema,
    timeoutMs: 60_000,
  });
}

export function removeProject(project: Project): void {
  rmSync(project.root, { recursive: true, force: true });
}

/** Nodes `role=count` with nxc's naming rules (count 1 -> role name, else role1..n). */
export const plan = planNodes;

/** Every engine object carrying nxc's labels for this project (containers, networks, volumes). */
export async function engineObjects(
  projectHashLabel: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const docker = new Docker();
  const filters = JSON.stringify({ label: [`nxc.project=${projectHashLabel}`] });
  const containers = (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0] ?? c.Id);
  const networks = (await docker.listNetworks({ filters })).map((n) => n.Name);
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name);
  return { containers, networks, volumes };
}

/**
 * Registers vitest hooks that copy the real demo into a throw-away project, build it for docker
 * with real Nix (offline flags), and afterwards stop what runs and remove the copy. Returns the
 * project once `beforeAll` has run.
 */
export function useBuiltDemo(prefix: string): () => Project {
  const savedFlags = process.env.NXC_NIX_FLAGS;
  let demo: ReturnType<typeof demoProject> | undefined;
  let project: Project | undefined;
  beforeAll(async () => {
    process.env.NXC_NIX_FLAGS = OFFLINE_NIX_FLAGS;
    demo = demoProject(prefix);
    project = await loadProject(demo.dir);
    await build(project, { flavour: 'docker' });
  });
  afterAll(async () => {
    if (project) await stop(project).catch(() => {});
    demo?.cleanup();
    if (savedFlags === undefined) Reflect.deleteProperty(process.env, 'NXC_NIX_FLAGS');
    else process.env.NXC_NIX_FLAGS = savedFlags;
  });
  return () => {
    if (!project) throw new Error('the demo project is built in beforeAll');
    return project;
  };
}
