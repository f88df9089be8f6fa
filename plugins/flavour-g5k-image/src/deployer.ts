/**
 * Deploy side of g5k-image, loaded on demand. start:
 *   1. an OAR job of type deploy ($OAR_JOB_ID, `oarstat`), the machines (-m / $OAR_NODEFILE),
 *      their addresses; `nxc.disks` mapped onto the disks the job reserved (count from OAR,
 *      then size / whole disk / not mounted over SSH in the standard environment); the
 *      deployment document (a node's disks with their `path` on its machine);
 *   2. the Kadeploy environment description (artifact/<comp>/g5k-image/<comp>.env.yaml) whose
 *      `boot.kernel_params` = `deploy=... consoles <all.cmdline> <-k>` (the deployment inline
 *      when it fits 2 KiB, else served over HTTP during the deployment), the image published
 *      as `local://` (default) or copied into a public HTTP folder;
 *   3. `kadeploy3 -a ENV -f MACHINES -k KEY -o OK -n KO`, its output shown as progress and
 *      kept in artifact/<comp>/g5k-image/kadeploy.log, parsed into per-node OK / KO;
 *   4. SSH with the deployment's key + `/run/nxc/ready` on every OK node.
 * `retryFailed` redeploys only the nodes that failed last time (same deployment document).
 * status / transport / stop are the kexec flavours' (@nxc/g5k), on the same state shape.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type FlavourDeployer,
  type NodeStatus,
  NxcError,
  type StartContext,
  type StartResult,
  artifactDir,
  pathExists,
  writeJsonAtomic,
} from '@nxc/core/flavour';
import {
  type CommandRunner,
  type DeploymentServer,
  type KexecState,
  type Lookup,
  assignMachines,
  checkReservedDisks,
  defaultNodeKeys,
  inlineDeployment,
  kexecAppend,
  kexecRunning,
  kexecStateSchema,
  nxcDiskDevice,
  planNodeDisks,
  serveDeployment,
  sourceAddressFor,
} from '@nxc/g5k';
import { HostKeyStore, SshTransport, probeSshBanner } from '@nxc/ssh';
import { kadeployEnvironment, renderEnvironment } from './environment.js';
import { type KadeployOutcome, parseKadeployOutput } from './kadeploy-output.js';
import { checkDeployJob } from './oar-job.js';
import type { G5kImageOptions } from './options.js';

const FLAVOUR = 'g5k-image';

/** Options of {@link g5kImageDeployer} (tests). */
export interface G5kImageDeployerOptions {
  lookup?: Lookup;
  /** Runs `oarstat` (default: locally). */
  oarRunner?: CommandRunner;
}

/** What the last start recorded (artifact/<comp>/g5k-image/last-start.json), read by retryFailed. */
interface LastStart {
  nodes: KexecState['nodes'];
  startedAt: number;
}

type Start = StartContext<G5kImageOptions, KexecState>;

/** Where Kadeploy reads the image: `local://` path, an explicit URL, or a copy in a public folder. */
async function publishImage(image: string, o: G5kImageOptions, reporter: Start['reporter']): Promise<string> {
  if (o.imageUrl) return o.imageUrl;
  const publicDir = o.publicDir;
  if (!publicDir && !o.publicHttp) return `local://${resolve(image)}`;
  const dir = resolve(publicDir ?? join(homedir(), 'public'));
  const name = `nxc-${basename(resolve(image, '..')).slice(0, 32)}.tar.xz`;
  const target = join(dir, name);
  if (!(await pathExists(target))) {
    await mkdir(dir, { recursive: true });
    await copyFile(image, `${target}.part`);
    await rm(target, { force: true });
    await copyFile(`${target}.part`, target);
    await rm(`${target}.part`, { force: true });
  }
  // Grid'5000 frontends are `f<site>`; public folders are served at public.<site>.grid5000.fr/~user/
  const base =
    o.publicUrl ??
    `http://public.${hostname().replace(/^f/, '').split('.')[0]}.grid5000.fr/~${userInfo().username}`;
  reporter.emit({ type: 'step', message: `image published as ${target}` });
  return `${base.replace(/\/$/, '')}/${name}`;
}

/** Asks on a terminal; true when not a terminal (no prompts then) or when answered yes. */
async function confirm(question: string, o: G5kImageOptions): Promise<boolean> {
  if (o.yes || !process.stdin.isTTY || !process.stderr.isTTY) return true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Runs kadeploy3, streaming its lines to the reporter and the log; resolves with its output. */
async function runKadeploy(
  argv: string[],
  log: string,
  ctx: Start,
): Promise<{ exitCode: number; output: string }> {
  const [bin, ...args] = argv as [string, ...string[]];
  let output = '';
  // loaded here, not with the module: `nxc status` and `nxc stop` never run kadeploy3 (issue #17)
  const { execa } = await import('execa');
  const child = execa(bin, args, {
    reject: false,
    all: true,
    stdin: 'ignore',
    cancelSignal: ctx.signal,
    buffer: false,
  });
  const lines = createInterface({ input: child.all! });
  lines.on('line', (line) => {
    output += `${line}\n`;
    const t = line.trim();
    if (t) ctx.reporter.emit({ type: 'step', message: `kadeploy3: ${t}` });
  });
  const r = await child;
  await new Promise((res) => setImmediate(res));
  await writeFile(log, output);
  if (r.failed && r.exitCode === undefined) {
    const code = (r as unknown as { code?: string }).code;
    if (code === 'ENOENT') {
      throw new NxcError(
        'NXC_FLAVOUR_UNUSABLE',
        `${bin} is not installed here: g5k-image deploys from a Grid'5000 frontend`,
        {
          hint: 'run `nxc start -f g5k-image` on a frontend (ssh <site>.g5k) inside an OAR job of type deploy',
        },
      );
    }
    if (ctx.signal.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted during kadeploy3');
    throw new NxcError('NXC_NODE_FAILED', `${bin} could not run: ${String(r.message ?? '').split('\n')[0]}`, {
      hint: `see ${log}`,
    });
  }
  return { exitCode: r.exitCode ?? 1, output };
}

/**
 * Waits until `address` answers SSH with the deployment's key and reports `/run/nxc/ready`;
 * returns the host key, or throws with the last reason.
 */
async function waitReady(
  host: string,
  address: string,
  privateKey: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = 'SSH does not answer';
  while (Date.now() < deadline) {
    if (signal.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
    if (!(await probeSshBanner(address, 22, 1500))) {
      last = 'SSH does not answer';
      await sleep(700);
      continue;
    }
    const keys = new HostKeyStore({}, { learn: true });
    const t = new SshTransport({
      nodes: { [host]: { address } },
      privateKey,
      hostKeys: keys,
      connectTimeoutMs: 10_000,
    });
    try {
      const r = await t.exec(host, 'test -e /run/nxc/ready && echo NXC_READY', { timeoutMs: 10_000 });
      if (r.stdout.includes('NXC_READY')) return keys.get(host);
      last = 'SSH answers but the node is not ready (/run/nxc/ready missing)';
    } catch (e) {
      last = (e as Error).message;
    } finally {
      await t.close();
    }
    await sleep(1000);
  }
  throw new Error(`not ready within ${Math.round(timeoutMs / 1000)} s after Kadeploy (${last})`);
}

/** Builds the g5k-image FlavourDeployer. */
export function g5kImageDeployer(
  options: G5kImageDeployerOptions = {},
): FlavourDeployer<G5kImageOptions, KexecState> {
  return {
    stateSchema: kexecStateSchema,
    ...kexecRunning(FLAVOUR),
    start: (ctx) => deploy(ctx, options, false),
    retryFailed: (ctx) => deploy(ctx, options, true),
  };
}

/**
 * A start, or with `retry` a redeployment of only the nodes that failed in the last start
 * (recorded in artifact/<comp>/g5k-image/last-start.json), on the same machines.
 */
async function deploy(ctx: Start, options: G5kImageDeployerOptions, retry: boolean): Promise<StartResult> {
  const o = ctx.options;
  const image = ctx.composeInfo.all.image;
  if (!image || !(await pathExists(image))) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${ctx.composeInfo.source} has no image (all.image${image ? ` = ${image} does not exist` : ' missing'})`,
      {
        hint: 'build it for this flavour: `nxc build -f g5k-image`',
      },
    );
  }
  // 1. the OAR job, the machines, their addresses
  if (!o.skipOarCheck) {
    await checkDeployJob({
      ...(o.oarJobId !== undefined ? { jobId: o.oarJobId } : {}),
      ...(options.oarRunner ? { runner: options.oarRunner } : {}),
      ...(o.oarTimeoutMs !== undefined ? { timeoutMs: o.oarTimeoutMs } : {}),
    });
  }
  const targets = await assignMachines({
    nodes: ctx.nodes,
    ...(ctx.machines ? { machines: ctx.machines } : {}),
    reporter: ctx.reporter,
    signal: ctx.signal,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    reserveHint: 'reserve more nodes (oarsub -t deploy -l nodes=N) or lower the role counts',
  });
  // nxc.disks: each node's declared disks onto its machine's reserved spare disks (the count
  // from OAR here; sizes and use on the machines below), before anything is written or deployed
  const nodeDisks = await planNodeDisks(ctx.composeInfo.roles, targets, {
    flavour: FLAVOUR,
    ...(options.oarRunner ? { runner: options.oarRunner } : {}),
  });

  // retry: only the nodes that failed in the last start, on the same machines
  const dir = artifactDir(ctx.project, ctx.composition, FLAVOUR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lastFile = join(dir, 'last-start.json');
  let kept: KexecState['nodes'] = {};
  let toDeploy = targets;
  if (retry) {
    const last = JSON.parse(await readFile(lastFile, 'utf8').catch(() => 'null')) as LastStart | null;
    if (!last) {
      throw new NxcError(
        'NXC_USAGE',
        `--retry-failed: no previous g5k-image start of ${ctx.composition} recorded in ${lastFile}`,
        {
          hint: 'start without --retry-failed first',
        },
      );
    }
    const same = targets.every(
      (t) => last.nodes[t.host]?.machine === t.machine && last.nodes[t.host]?.role === t.role,
    );
    if (!same) {
      throw new NxcError('NXC_USAGE', '--retry-failed: the nodes or machines differ from the last start', {
        hint: 'give the same roles and machine file as the last start, or start again without --retry-failed',
      });
    }
    kept = Object.fromEntries(Object.entries(last.nodes).filter(([, n]) => n.status === 'up'));
    toDeploy = targets.filter((t) => !kept[t.host]);
    if (toDeploy.length === 0) {
      ctx.reporter.emit({
        type: 'step',
        message: 'every node of the last start is up: nothing to redeploy',
      });
    }
  }

  // the reserved disks checked on the machines, in their standard environment, before
  // Kadeploy touches any (a retry redeploys machines checked at the first start: a machine
  // Kadeploy failed on may not run its standard environment any more)
  const toCheck = toDeploy.flatMap((t) => {
    const disks = nodeDisks.get(t.host);
    return disks ? [{ host: t.host, machine: t.machine, address: t.address, disks }] : [];
  });
  if (toCheck.length > 0 && !retry) {
    ctx.reporter.emit({
      type: 'step',
      message: `checking the reserved disks on ${toCheck.map((t) => t.machine).join(', ')} over SSH`,
    });
    const nodeKeys = o.nodeKeys === undefined ? await defaultNodeKeys() : [o.nodeKeys].flat();
    await checkReservedDisks(toCheck, {
      // the standard environment's keys, then the deployment's (a previous start's system)
      loginKeys: [...new Set([...nodeKeys, ctx.identity.privateKeyPath])],
      ...(o.knownHosts !== undefined
        ? {
            knownHostsFiles: [o.knownHosts]
              .flat()
              .flatMap((f) => f.split(','))
              .filter(Boolean),
          }
        : {}),
      signal: ctx.signal,
    });
  }

  // 2. deployment document, kernel parameters, environment description; a node with disks
  // finds where they are on its machine in its own entry (`disks[].path`): Kadeploy boots
  // every node with the same command line, which cannot carry a per-node `nxc_disks=`
  const doc = await ctx.writeDeployment(
    targets.map((t) => {
      const disks = nodeDisks.get(t.host);
      return {
        role: t.role,
        host: t.host,
        address: t.address,
        ...(disks
          ? {
              diskDevices: Object.fromEntries(disks.map((d) => [d.id, nxcDiskDevice(d.id)])),
              diskPaths: Object.fromEntries(disks.map((d) => [d.id, d.diskpath])),
            }
          : {}),
      };
    }),
  );
  const extra = {
    ...(ctx.composeInfo.all.cmdline ? { flavourParams: ctx.composeInfo.all.cmdline } : {}),
    ...(ctx.kernelParams ? { kernelParams: ctx.kernelParams } : {}),
  };
  let server: DeploymentServer | undefined;
  const inline = o.remoteDeploymentInfo ? undefined : inlineDeployment(doc, extra);
  let kernelParams: string;
  try {
    if (inline) {
      kernelParams = inline.append;
    } else {
      const first = targets[0];
      const host = first ? await sourceAddressFor(first.address) : '127.0.0.1';
      server = await serveDeployment(doc, {
        host,
        ...(o.port !== undefined ? { port: o.port } : {}),
      });
      kernelParams = kexecAppend(server.url, { ...extra, deploySha256: server.sha256 });
      ctx.reporter.emit({ type: 'step', message: `serving the deployment at ${server.url}` });
    }
    const imageUrl = await publishImage(image, o, ctx.reporter);
    const env = kadeployEnvironment({
      composition: ctx.composition,
      system: ctx.composeInfo.system ?? 'x86_64-linux',
      imageUrl,
      kernelParams,
      author: userInfo().username,
      roles: Object.keys(ctx.composeInfo.roles),
    });
    const envFile = join(dir, `${ctx.composition}.env.yaml`);
    await writeFile(envFile, renderEnvironment(env));
    const machinesFile = join(dir, 'machines');
    await writeFile(machinesFile, `${toDeploy.map((t) => t.machine).join('\n')}\n`);
    const keyFile = join(dir, 'authorized_keys');
    await writeFile(keyFile, `${ctx.identity.publicKey.trim()}\n`);

    // 3. kadeploy3
    let outcome: KadeployOutcome = { ok: [], ko: [] };
    if (toDeploy.length > 0) {
      if (
        !(await confirm(
          `Kadeploy ${basename(image)} onto ${toDeploy.map((t) => t.machine).join(', ')} (their disks are erased)?`,
          o,
        ))
      ) {
        throw new NxcError('NXC_INTERRUPTED', 'deployment declined', { hint: 'answer y, or pass --yes' });
      }
      const tag = randomBytes(4).toString('hex');
      const okFile = join(dir, `ok-${tag}`);
      const koFile = join(dir, `ko-${tag}`);
      const bin = o.kadeploy;
      const argv = [bin, '-a', envFile, '-f', machinesFile, '-k', keyFile, '-o', okFile, '-n', koFile];
      ctx.reporter.emit({
        type: 'step',
        message: `kadeploy3 -a ${envFile} -f ${machinesFile} (${toDeploy.map((t) => `${t.machine}=${t.host}`).join(', ')})`,
      });
      const run = await runKadeploy(argv, join(dir, 'kadeploy.log'), ctx);
      const [okText, koText] = await Promise.all([
        readFile(okFile, 'utf8').catch(() => undefined),
        readFile(koFile, 'utf8').catch(() => undefined),
      ]);
      await rm(okFile, { force: true });
      await rm(koFile, { force: true });
      outcome = parseKadeployOutput(run.output, {
        ...(okText !== undefined ? { ok: okText } : {}),
        ...(koText !== undefined ? { ko: koText } : {}),
      });
      const known = new Set([...outcome.ok, ...outcome.ko.map((k) => k.node)]);
      // a node Kadeploy says nothing about (it crashed, or an error before the deployment)
      for (const t of toDeploy) {
        if (!known.has(t.machine)) {
          const tail = run.output.trim().split('\n').slice(-1)[0] ?? '';
          outcome.ko.push({
            node: t.machine,
            reason: `kadeploy3 exited ${run.exitCode} without a result for it${tail ? `: ${tail}` : ''}`,
          });
        }
      }
    }

    // 4. wait for the deployed systems
    const nodes: KexecState['nodes'] = { ...kept };
    const ko = new Map(outcome.ko.map((k) => [k.node, k.reason]));
    let up = Object.keys(kept).length;
    await Promise.all(
      toDeploy.map(async (t) => {
        const reason: string | undefined = ko.get(t.machine);
        if (reason !== undefined || !outcome.ok.includes(t.machine)) {
          nodes[t.host] = {
            machine: t.machine,
            address: t.address,
            role: t.role,
            status: 'failed',
            reason: `kadeploy: ${reason ?? 'not deployed'}`,
          };
          ctx.reporter.emit({
            type: 'node',
            host: t.host,
            state: 'failed',
            detail: `${t.machine}: ${reason}`,
          });
          return;
        }
        ctx.reporter.emit({
          type: 'node',
          host: t.host,
          state: 'booting',
          detail: `${t.machine}: deployed, waiting for SSH`,
        });
        try {
          const hostKey = await waitReady(
            t.host,
            t.address,
            ctx.identity.privateKeyPath,
            ctx.timeoutMs,
            ctx.signal,
          );
          nodes[t.host] = {
            machine: t.machine,
            address: t.address,
            role: t.role,
            status: 'up',
            ...(hostKey ? { hostKey } : {}),
          };
          up++;
          ctx.reporter.emit({
            type: 'node',
            host: t.host,
            state: 'up',
            detail: `${t.machine}, ${t.address}`,
          });
          ctx.reporter.emit({ type: 'progress', task: 'nodes up', current: up, total: targets.length });
        } catch (e) {
          nodes[t.host] = {
            machine: t.machine,
            address: t.address,
            role: t.role,
            status: 'failed',
            reason: `boot: ${(e as Error).message}`,
          };
          ctx.reporter.emit({
            type: 'node',
            host: t.host,
            state: 'failed',
            detail: `${t.machine}: ${(e as Error).message}`,
          });
        }
      }),
    );
    const startedAt = Math.floor(Date.now() / 1000);
    await writeJsonAtomic(lastFile, { nodes, startedAt } satisfies LastStart);
    const failed = targets.filter((t) => nodes[t.host]?.status !== 'up');
    const describe = (t: (typeof targets)[number]): string =>
      `${t.host} (${t.machine}, ${t.address}): ${nodes[t.host]?.reason ?? 'not deployed'}`;
    if (failed.length === targets.length) {
      throw new NxcError('NXC_NODE_FAILED', `no node came up: ${failed.map(describe).join('; ')}`, {
        hint: `see ${join(dir, 'kadeploy.log')}; redeploy with --retry-failed`,
      });
    }
    const state: KexecState = { kind: 'g5k-kexec', nodes, startedAt };
    await ctx.saveState(state);
    for (const t of failed)
      ctx.reporter.emit({
        type: 'warn',
        message: `${describe(t)} (redeploy only the failed nodes with --retry-failed)`,
      });
    const jobId = o.oarJobId ?? process.env.OAR_JOB_ID;
    return {
      // for the deployment record: the machines, and the OAR job they belong to when known
      ...(jobId !== undefined ? { platform: { oarJobId: jobId } } : {}),
      nodes: targets.map((t): NodeStatus => {
        const n = nodes[t.host]!;
        return {
          host: t.host,
          role: t.role,
          address: t.address,
          machine: t.machine,
          state: n.status === 'up' ? 'running' : 'exited',
          detail:
            n.status === 'up'
              ? `${t.machine}${kept[t.host] ? ', kept from the last start' : ', deployed by Kadeploy'}`
              : `${t.machine}: ${n.reason}`,
        };
      }),
    };
  } finally {
    await server?.close();
  }
}

/** The g5k-image deployer. */
export const deployer: FlavourDeployer<G5kImageOptions, KexecState> = g5kImageDeployer();
