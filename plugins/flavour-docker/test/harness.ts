/**
 * Test harness: a throw-away project directory and the contexts `nxc start`/`stop`/… hand
 * to a flavour, built the way core's orchestration builds them (deployment document in the
 * original field names at deploy/<composition>::<flavour>.json, state next to it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ComposeInfo,
  type DeploymentDocument,
  type ProgressEvent,
  type Project,
  makeProject,
  readDeploymentDocument,
  silentReporter,
} from '@nxc/core';
import {
  type PlannedNode,
  type RunningContext,
  type StartContext,
  buildDeploymentDocument,
  writeDeploymentDocument,
} from '@nxc/core/flavour';
import Docker from 'dockerode';

export function tempProject(prefix = 'nxc-docker-e2e-'): Project {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const project = makeProject(root, {
    plugins: ['@nxc/flavour-docker'],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
  for (const d of [project.buildDir, project.deployDir, project.artifactDir])
    mkdirSync(d, { recursive: true });
  return project;
}

export function removeProject(project: Project): void {
  rmSync(project.root, { recursive: true, force: true });
}

/** Nodes `role=count` in the naming rules of DESIGN.md (count 1 -> role name, else role1..n). */
export function plan(spec: Record<string, number>): PlannedNode[] {
  return Object.entries(spec).flatMap(([role, n]) =>
    n === 1
      ? [{ role, host: role }]
      : Array.from({ length: n }, (_, i) => ({ role, host: `${role}${i + 1}` })),
  );
}

const IDENTITY = {
  privateKeyPath: '/dev/null',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests nxc@test',
};

export interface Harness {
  project: Project;
  events: ProgressEvent[];
  startContext(info: ComposeInfo, nodes: PlannedNode[], extra?: Partial<StartContext>): StartContext;
  runningContext(extra?: Partial<RunningContext>): Promise<RunningContext>;
  deploymentFile(): string;
}

export function harness(project: Project, composition = 'composition', flavour = 'docker'): Harness {
  const events: ProgressEvent[] = [];
  const reporter = { emit: (e: ProgressEvent) => events.push(e) };
  const docFile = join(project.deployDir, `${composition}::${flavour}.json`);
  const stateFile = join(project.deployDir, `${composition}::${flavour}.state.json`);
  const base = { project, composition, flavour, reporter };
  return {
    project,
    events,
    deploymentFile: () => docFile,
    startContext(info, nodes, extra = {}) {
      return {
        ...base,
        signal: new AbortController().signal,
        composeInfo: info,
        nodes,
        identity: IDENTITY,
        wait: true,
        timeoutMs: 60_000,
        options: {},
        async writeDeployment(deployed) {
          const doc = buildDeploymentDocument({
            composeInfo: info,
            nodes: deployed,
            sshPublicKey: IDENTITY.publicKey,
          });
          await writeDeploymentDocument(project, composition, flavour, doc);
          return doc;
        },
        async saveState(state) {
          writeFileSync(stateFile, JSON.stringify(state));
        },
        ...extra,
      };
    },
    async runningContext(extra = {}) {
      const deployment: DeploymentDocument = existsSync(docFile)
        ? await readDeploymentDocument(project, composition, flavour)
        : { deployment: {}, 'ssh_key.pub': '', composition, flavour, user: 'root' };
      return {
        ...base,
        reporter: silentReporter,
        signal: new AbortController().signal,
        deployment,
        state: existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : undefined,
        identity: IDENTITY,
        ...extra,
      };
    },
  };
}

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
