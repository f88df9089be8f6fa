/**
 * Test harness: a throw-away project with its own SSH identity, and the contexts `nxc
 * start`/`stop`/… hand to a flavour (deployment document at deploy/<c>::<f>.json, state next
 * to it), built the way core's orchestration builds them. Plus what "nothing left behind"
 * means for VMs: no QEMU or switch process of the deployment, no run directory, no socket.
 */
import { execFileSync } from 'node:child_process';
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
  type SshIdentity,
  type StartContext,
  buildDeploymentDocument,
  writeDeploymentDocument,
} from '@nxc/core/flavour';
import { qemuOptionsSchema } from '../src/options.js';
import { findQemus, findSwitches } from '../src/processes.js';
import { leftoverRunDirs } from '../src/run-dir.js';
import { switchName } from '../src/segment.js';
import { deploymentId } from '../src/vm-spec.js';

export function tempProject(prefix = 'nxc-qemu-e2e-'): { project: Project; identity: SshIdentity } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const project = makeProject(root, {
    plugins: ['@nxc/flavour-qemu'],
    composition: 'composition.nix',
    nix: { flags: [], overrideInputs: {} },
    flavourOptions: {},
  });
  for (const d of [project.buildDir, project.deployDir, project.artifactDir])
    mkdirSync(d, { recursive: true });
  const key = join(root, '.nxc', 'ssh', 'id_ed25519');
  mkdirSync(join(root, '.nxc', 'ssh'), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nxc@test', '-f', key]);
  return { project, identity: { privateKeyPath: key, publicKey: readFileSync(`${key}.pub`, 'utf8').trim() } };
}

/** Nodes `role=count` with DESIGN.md's naming (count 1 -> role name, else role1..n). */
export function plan(spec: Record<string, number>): PlannedNode[] {
  return Object.entries(spec).flatMap(([role, n]) =>
    n === 1
      ? [{ role, host: role }]
      : Array.from({ length: n }, (_, i) => ({ role, host: `${role}${i + 1}` })),
  );
}

export interface Harness {
  project: Project;
  events: ProgressEvent[];
  startContext(info: ComposeInfo, nodes: PlannedNode[], extra?: Partial<StartContext>): StartContext;
  runningContext(extra?: Partial<RunningContext>): Promise<RunningContext>;
  /** What the deployment left on this machine (must be empty after stop). */
  leftovers(): { qemus: string[]; switches: string[]; runDirs: string[] };
  remove(): void;
}

export function harness(flavour: 'vm-ramdisk' | 'vm', composition = 'composition'): Harness {
  const { project, identity } = tempProject();
  const events: ProgressEvent[] = [];
  const reporter = { emit: (e: ProgressEvent) => events.push(e) };
  const docFile = join(project.deployDir, `${composition}::${flavour}.json`);
  const stateFile = join(project.deployDir, `${composition}::${flavour}.state.json`);
  const base = { project, composition, flavour, reporter };
  const id = deploymentId(project.root, composition, flavour);
  return {
    project,
    events,
    startContext(info, nodes, { options, ...extra } = {}) {
      return {
        ...base,
        signal: new AbortController().signal,
        composeInfo: info,
        nodes,
        identity,
        wait: true,
        timeoutMs: 180_000,
        // parsed as core parses them: defaults filled in
        options: qemuOptionsSchema.parse(options ?? { accel: 'tcg', memory: 256 }),
        async writeDeployment(deployed) {
          const doc = buildDeploymentDocument({
            composeInfo: info,
            nodes: deployed,
            sshPublicKey: identity.publicKey,
            user: 'root',
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
        options: qemuOptionsSchema.parse({}),
        state: existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : undefined,
        identity,
        ...extra,
      };
    },
    leftovers() {
      return {
        qemus: findQemus(`nxc-${id}-`, 'any').map((q) => `${q.pid} ${q.name}`),
        switches: findSwitches(switchName(id), 'any').map((q) => `${q.pid} ${q.name}`),
        runDirs: leftoverRunDirs(id),
      };
    },
    remove() {
      rmSync(project.root, { recursive: true, force: true });
    },
  };
}
