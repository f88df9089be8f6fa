/**
 * The kexec deployment engine shared by g5k-ramdisk and g5k-nfs-store: for every reserved
 * machine, in parallel and independently,
 *   1. connect as root (the key of the site's standard environment, else the deployment's
 *      identity: a node still running a previous nxc deployment),
 *   2. push kernel + initrd unless the node already holds files with the same SHA-256,
 *   3. `kexec -l` them with `deploy=...` on the command line, then a detached `kexec -e`,
 *   4. wait for SSH on the node's address until a NEW boot (boot id changed) authorizes the
 *      deployment's key and reports `/run/nxc/ready`.
 * A node that fails any step is reported with the step and the reason; the others go on.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DeployedNode,
  type DeploymentDocument,
  NxcError,
  type Reporter,
  type SshIdentity,
  isNxcError,
  pathExists,
} from '@nxc/core/flavour';
import {
  HostKeyStore,
  SshTransport,
  defaultKnownHostsFiles,
  fingerprint,
  lookupKnownHosts,
  probeSshBanner,
  readKnownHosts,
  shellQuote,
  waitForSsh,
} from '@nxc/ssh';
import pLimit from 'p-limit';
import {
  type AssignedDisk,
  diskProbeCommand,
  diskProbeProblems,
  disksError,
  disksKernelParam,
  nxcDiskDevice,
} from './disks.js';
import { type DeploymentServer, serveDeployment, sourceAddressFor } from './http-server.js';
import { inlineDeployment, kexecAppend } from './kernel-cmdline.js';
import {
  type NodeHostKey,
  hostKeyInitrd,
  newNodeHostKey,
  rememberHostKey,
  rememberedHostKey,
} from './node-host-keys.js';

/** One machine to deploy onto, with the node it becomes. */
export interface KexecTarget {
  /** Machine name from the machine file (e.g. `node-3`, `grisou-12.nancy.grid5000.fr`). */
  machine: string;
  /** Its address: the key of its entry in the deployment. */
  address: string;
  /** Role and hostname it takes. */
  role: string;
  host: string;
  /**
   * The reserved spare disks the node's declared disks map onto (`nxc.disks`, see
   * ./disks.ts): checked on the machine before any machine is kexec'd, named on the node's
   * kernel command line (`nxc_disks=`).
   */
  disks?: AssignedDisk[];
}

/** Input of {@link kexecDeploy}. */
export interface KexecDeployOptions {
  targets: KexecTarget[];
  /** Local kernel and initrd (the build's `all.kernel`, `all.initrd`). */
  kernel: string;
  initrd: string;
  /** Identity the deployed nodes authorize (the deployment's `ssh_key.pub`). */
  identity: SshIdentity;
  /** Writes the deployment document (core's `StartContext.writeDeployment`). */
  writeDeployment(nodes: DeployedNode[]): Promise<DeploymentDocument>;
  /** Flavour kernel parameters (e.g. `nfs_store=...`). */
  flavourParams?: string;
  /** User's extra kernel parameters (`-k`). */
  kernelParams?: string;
  /** Directory on the nodes receiving kernel and initrd (default `/tmp/nxc-kexec`). */
  pushPath?: string;
  /**
   * Keys tried for the machines' standard environment before the deployment's identity
   * (default: the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exists).
   */
  nodeKeys?: string[];
  /**
   * known_hosts files checked on first contact (default: OpenSSH's, `/etc/ssh/ssh_known_hosts`
   * and `~/.ssh/known_hosts`, see `defaultKnownHostsFiles`). A machine they (or nxc's record of
   * its last deployment there) list must present one of the listed keys; one they do not list
   * is trusted on first contact, with a warning.
   */
  knownHostsFiles?: string[];
  /** `--reuse`: the nodes run a previous nxc deployment: use the deployment's identity first. */
  reuse?: boolean;
  /** `--remote-deployment-info`: always serve the deployment over HTTP. */
  remoteDeploymentInfo?: boolean;
  /** Port of the deployment HTTP server (default: any free port). */
  httpPort?: number;
  /** How long a machine may take to answer SSH before the push (default 20 s). */
  reachTimeoutMs?: number;
  /** Per-node deadline from `kexec -e` to ready (default 300 s). */
  bootTimeoutMs?: number;
  /** Machines worked on at once (default 32). */
  concurrency?: number;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Outcome of one node. */
export interface KexecNodeResult extends KexecTarget {
  status: 'up' | 'failed' | 'unreachable';
  /** Step that failed. */
  step?: 'connect' | 'push' | 'kexec' | 'boot';
  reason?: string;
  /** Bytes of kernel/initrd sent to this node (0 when it already held them). */
  pushedBytes: number;
  /** Milliseconds per step. */
  timings: { connectMs?: number; pushMs?: number; kexecMs?: number; bootMs?: number };
  /**
   * Host key of the deployed system (`<type> <base64>`): the one nxc gave the node, known
   * before it boots and checked at every later connection.
   */
  hostKey?: string;
}

/** Result of {@link kexecDeploy}. */
export interface KexecDeployResult {
  nodes: KexecNodeResult[];
  document: DeploymentDocument;
  /** How the deployment reached the nodes. */
  deployParam: { kind: 'inline'; length: number } | { kind: 'http'; url: string };
}

const DEFAULT_PUSH_PATH = '/tmp/nxc-kexec';
const q = shellQuote;
const PATH_PREFIX = 'PATH=$PATH:/sbin:/usr/sbin:/run/current-system/sw/bin; ';

/** SHA-256 of a local file (hex). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function firstExisting(files: string[]): Promise<string[]> {
  for (const f of files) if (await pathExists(f)) return [f];
  return [];
}

/** Default keys for the standard environment. */
export async function defaultNodeKeys(): Promise<string[]> {
  return firstExisting(['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => posix.join(homedir(), '.ssh', k)));
}

/**
 * Returns `pushPath` when it is safe in the root shell commands sent to the nodes: absolute,
 * only letters, digits and `. _ + - /`, no `..` component, not `/` itself. Every command
 * quotes it all the same.
 *
 * @throws NxcError `NXC_USAGE` otherwise (the option comes from the user's flags or config).
 */
export function checkPushPath(pushPath: string): string {
  const ok =
    /^\/[A-Za-z0-9._+/-]+$/.test(pushPath) &&
    !pushPath.split('/').some((part) => part === '..' || part === '.') &&
    pushPath.replace(/\/+$/, '') !== '';
  if (ok) return pushPath;
  throw new NxcError(
    'NXC_USAGE',
    `--push-path ${JSON.stringify(pushPath)} must be an absolute path made of letters, digits and . _ + - / (it is used in root shells on the nodes)`,
    { hint: 'e.g. --push-path /tmp/nxc-kexec' },
  );
}

class StepError extends Error {
  constructor(
    readonly step: NonNullable<KexecNodeResult['step']>,
    message: string,
    readonly unreachable = false,
  ) {
    super(message);
  }
}

/**
 * Settles within `ms` whatever `promise` does. An SSH handshake with a machine that goes down
 * mid-way (kexec, reboot) may never settle, and when every pending operation is such a
 * promise Node would exit silently with work unfinished: this ref'd timer prevents both.
 */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function closeQuietly(transport: SshTransport | undefined): Promise<void> {
  if (transport) await withTimeout(transport.close(), 3000, 'closing SSH').catch(() => undefined);
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs the engine; never throws for a node's failure (see each node's `status`). */
export async function kexecDeploy(options: KexecDeployOptions): Promise<KexecDeployResult> {
  const reporter = options.reporter;
  const signal = options.signal;
  const pushPath = checkPushPath(options.pushPath ?? DEFAULT_PUSH_PATH);
  for (const [what, file] of [
    ['kernel', options.kernel],
    ['initrd', options.initrd],
  ] as const) {
    if (!(await pathExists(file))) {
      throw new NxcError('NXC_COMPOSE_INFO', `the build's ${what} ${file} does not exist`, {
        hint: 'rebuild with `nxc build`',
      });
    }
  }

  // 1. the deployment document and how nodes get it
  const document = await options.writeDeployment(
    options.targets.map((t) => ({
      role: t.role,
      host: t.host,
      address: t.address,
      ...(t.disks && t.disks.length > 0
        ? { diskDevices: Object.fromEntries(t.disks.map((d) => [d.id, nxcDiskDevice(d.id)])) }
        : {}),
    })),
  );
  // each node's own parameters (its disks) go after the shared ones: the inline deployment's
  // budget keeps room for the longest
  const nodeParams = new Map(options.targets.map((t) => [t, disksKernelParam(t.disks ?? [])]));
  const longestNodeParam = [...nodeParams.values()].reduce<string>(
    (a, p) => ((p?.length ?? 0) > a.length ? (p ?? '') : a),
    '',
  );
  const extra = { flavourParams: options.flavourParams, kernelParams: options.kernelParams };
  const budgetExtra = {
    flavourParams: [options.flavourParams, longestNodeParam].filter(Boolean).join(' ') || undefined,
    kernelParams: options.kernelParams,
  };
  let server: DeploymentServer | undefined;
  let append: string;
  let deployParam: KexecDeployResult['deployParam'];
  const inline = options.remoteDeploymentInfo ? undefined : inlineDeployment(document, budgetExtra);
  if (inline) {
    append = inlineDeployment(document, extra)?.append ?? inline.append;
    deployParam = { kind: 'inline', length: inline.length };
  } else {
    const first = options.targets[0];
    const host = first ? await sourceAddressFor(first.address) : '127.0.0.1';
    server = await serveDeployment(document, {
      host,
      ...(options.httpPort !== undefined ? { port: options.httpPort } : {}),
    });
    append = kexecAppend(server.url, { ...extra, deploySha256: server.sha256 });
    deployParam = { kind: 'http', url: server.url };
    reporter?.emit({ type: 'step', message: `serving the deployment at ${server.url}` });
  }

  // 2. local artifacts
  const [kernelSum, initrdSum, kernelSize, initrdSize] = await Promise.all([
    sha256File(options.kernel),
    sha256File(options.initrd),
    stat(options.kernel).then((s) => s.size),
    stat(options.initrd).then((s) => s.size),
  ]);
  const artifacts = [
    { name: 'kernel', local: options.kernel, sum: kernelSum, size: kernelSize },
    { name: 'initrd', local: options.initrd, sum: initrdSum, size: initrdSize },
  ];

  // 3. keys: standard environment first (unless --reuse), then the deployment's identity
  const stdKeys = options.nodeKeys ?? (await defaultNodeKeys());
  const deploymentKey = options.identity.privateKeyPath;
  const keys = [...new Set(options.reuse ? [deploymentKey, ...stdKeys] : [...stdKeys, deploymentKey])];

  // 4. what vouches for each machine's key before kexec; each node's key after it
  const knownHostsFiles = options.knownHostsFiles ?? defaultKnownHostsFiles();
  const knownHosts = await readKnownHosts(knownHostsFiles);
  const firstContactStore = async (t: KexecTarget): Promise<HostKeyStore> => {
    const listed = lookupKnownHosts(knownHosts, [t.machine, t.address]);
    const remembered = await rememberedHostKey(t.machine);
    // nxc's record of its last system there vouches only next to known_hosts: a machine is
    // reinstalled between jobs (standard environment, other users), so without a list of its
    // standard keys a different key is expected, and first contact decides (with a warning)
    const keys =
      listed.keys.length === 0
        ? []
        : [
            ...listed.keys,
            ...(remembered
              ? [{ record: remembered.record, source: `${remembered.file} (nxc's last system there)` }]
              : []),
          ];
    const store = new HostKeyStore({}, { learn: keys.length === 0 });
    store.revoke(listed.revoked);
    if (keys.length > 0) {
      const where = [...new Set(keys.map((k) => k.source))].join(', ');
      store.trust(
        t.machine,
        [...new Set(keys.map((k) => k.record))],
        `the key${keys.length > 1 ? 's' : ''} in ${where}`,
      );
    }
    return store;
  };

  // nxc.disks: every machine's reserved disks are checked before any machine is kexec'd
  const checkDisks = options.targets.some((t) => (t.disks?.length ?? 0) > 0);
  const diskProblems: string[] = [];
  let checked = 0;
  let releaseChecked: () => void = () => undefined;
  const allChecked = new Promise<void>((resolve) => {
    releaseChecked = resolve;
  });
  const arrive = (): void => {
    checked++;
    if (checked >= options.targets.length) releaseChecked();
  };

  const nodeKeys = new Map<KexecTarget, NodeHostKey>(options.targets.map((t) => [t, newNodeHostKey(t.host)]));
  const total = options.targets.length;
  let upCount = 0;
  // with disks every node waits for the others' check while holding its slot: no limit then
  const limit = pLimit(Math.max(1, options.concurrency ?? 32, checkDisks ? options.targets.length : 0));
  const nodeEvent = (t: KexecTarget, state: string, detail?: string): void =>
    reporter?.emit({
      type: 'node',
      host: t.host,
      state,
      detail: detail ? `${t.machine}: ${detail}` : t.machine,
    });

  const deployOne = async (t: KexecTarget): Promise<KexecNodeResult> => {
    const result: KexecNodeResult = { ...t, status: 'failed', pushedBytes: 0, timings: {} };
    let transport: SshTransport | undefined;
    let arrived = !checkDisks;
    try {
      if (signal?.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
      // connect
      let t0 = Date.now();
      nodeEvent(t, 'connecting');
      try {
        await waitForSsh(t.address, 22, {
          timeoutMs: options.reachTimeoutMs ?? 20_000,
          probeTimeoutMs: 2000,
          name: t.machine,
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        throw new StepError(
          'connect',
          `no SSH server answers on ${t.address}:22 (${reasonOf(e).replace(/^.*?: /, '')})`,
          true,
        );
      }
      let lastAuthError = '';
      const hostKeys = await firstContactStore(t);
      for (const key of keys) {
        const candidate = new SshTransport({
          nodes: { [t.machine]: { address: t.address } },
          privateKey: key,
          hostKeys,
          connectTimeoutMs: 20_000,
        });
        try {
          await withTimeout(candidate.connection(t.machine), 30_000, 'SSH login');
          transport = candidate;
          break;
        } catch (e) {
          await closeQuietly(candidate);
          // a key nothing vouches for: no other login key changes that
          if (hostKeys.mismatch(t.machine)) throw new StepError('connect', reasonOf(e));
          lastAuthError = reasonOf(e);
        }
      }
      if (!transport)
        throw new StepError(
          'connect',
          `root login refused with every key tried (${keys.join(', ')}): ${lastAuthError}`,
          true,
        );
      const previousKey = hostKeys.get(t.machine);
      if (hostKeys.learnt(t.machine)) {
        const rememberedKey = (await rememberedHostKey(t.machine))?.record;
        if (rememberedKey === undefined || rememberedKey !== previousKey) {
          const since = rememberedKey
            ? ` nor the key of nxc's last system there (${fingerprint(rememberedKey)}; reinstalled since?)`
            : '';
          reporter?.emit({
            type: 'warn',
            message: `${t.machine}: no known host key (${knownHostsFiles.join(', ')} do not list it)${since}: trusted ${fingerprint(previousKey ?? '')} on first contact`,
          });
        }
      }
      const run = async (step: StepError['step'], command: string, timeoutMs = 120_000): Promise<string> => {
        const r = await (transport as SshTransport).exec(t.machine, PATH_PREFIX + command, {
          timeoutMs,
          ...(signal ? { signal } : {}),
        });
        if (r.exitCode !== 0) {
          const last = (r.stderr.trim() || r.stdout.trim()).split('\n').pop() ?? '';
          throw new StepError(
            step,
            `\`${command.split(' ')[0]}\` exited ${r.exitCode}${last ? `: ${last}` : ''}`,
          );
        }
        return r.stdout;
      };
      const probe = await run(
        'connect',
        `cat /proc/sys/kernel/random/boot_id; mkdir -p ${q(pushPath)} && cd ${q(pushPath)} && { sha256sum kernel initrd 2>/dev/null || true; }`,
      );
      const [bootId = '', ...sumLines] = probe.trim().split('\n');
      const remoteSums = new Map<string, string>();
      for (const line of sumLines) {
        const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
        if (m?.[1] && m[2]) remoteSums.set(m[2], m[1]);
      }
      if (t.disks && t.disks.length > 0) {
        const answer = await run('connect', diskProbeCommand(t.disks.map((d) => d.diskpath)));
        diskProblems.push(...diskProbeProblems(t.host, t.machine, t.disks, answer));
      }
      if (!arrived) {
        arrived = true;
        arrive();
        await allChecked;
        if (diskProblems.length > 0)
          throw new StepError('connect', 'not deployed: the reserved disks do not fit the composition');
      }
      result.timings.connectMs = Date.now() - t0;

      // push
      t0 = Date.now();
      const missing = artifacts.filter((a) => remoteSums.get(a.name) !== a.sum);
      if (missing.length > 0) nodeEvent(t, 'pushing', missing.map((a) => a.name).join(' + '));
      for (const a of missing) {
        const remote = `${pushPath}/${a.name}`;
        // per-machine temporary name: a push path on shared storage (NFS home) is written by many nodes
        const part = `${remote}.part-${t.machine.replace(/[^A-Za-z0-9._-]/g, '_')}`;
        try {
          await transport.copyTo(t.machine, a.local, part);
        } catch (e) {
          throw new StepError('push', `cannot upload the ${a.name}: ${reasonOf(e)}`);
        }
        result.pushedBytes += a.size;
        const got = (await run('push', `sha256sum ${q(part)}`)).trim().split(/\s+/)[0];
        if (got !== a.sum)
          throw new StepError(
            'push',
            `the ${a.name} arrived corrupted (sha256 ${got?.slice(0, 12)}… instead of ${a.sum.slice(0, 12)}…)`,
          );
        await run('push', `mv -f ${q(part)} ${q(remote)}`);
      }
      result.timings.pushMs = Date.now() - t0;
      nodeEvent(
        t,
        'pushed',
        missing.length > 0 ? `${result.pushedBytes} bytes` : 'already up to date, 0 bytes',
      );

      // kexec
      t0 = Date.now();
      const hasKexec = await transport.exec(t.machine, `${PATH_PREFIX}command -v kexec`, {
        timeoutMs: 30_000,
      });
      if (hasKexec.exitCode !== 0)
        throw new StepError('kexec', 'kexec is not installed on the machine (kexec-tools)');
      // the node's own host key, appended to its initrd over this verified connection; the
      // combined file exists only until kexec -l has loaded it
      const own = `${pushPath}/initrd.${t.machine.replace(/[^A-Za-z0-9._-]/g, '_')}`;
      const delivered = await transport.exec(
        t.machine,
        `${PATH_PREFIX}umask 077; cat > ${q(`${own}.key`)} && cat ${q(`${pushPath}/initrd`)} ${q(`${own}.key`)} > ${q(own)}; rc=$?; rm -f ${q(`${own}.key`)}; exit $rc`,
        {
          stdin: hostKeyInitrd(nodeKeys.get(t)!, initrdSize),
          timeoutMs: 300_000,
          ...(signal ? { signal } : {}),
        },
      );
      if (delivered.exitCode !== 0)
        throw new StepError(
          'kexec',
          `cannot add the node's host key to its initrd: ${delivered.stderr.trim()}`,
        );
      await run(
        'kexec',
        `kexec -l ${q(`${pushPath}/kernel`)} ${q(`--initrd=${own}`)} ${q(`--append=${[append, nodeParams.get(t)].filter(Boolean).join(' ')}`)}; rc=$?; rm -f ${q(own)}; exit $rc`,
      );
      // detached: a process started over SSH dies with its channel otherwise
      await run(
        'kexec',
        `setsid sh -c 'sleep 1; ${PATH_PREFIX.replace(/'/g, '')}kexec -e' </dev/null >/dev/null 2>&1 &`,
      );
      result.timings.kexecMs = Date.now() - t0;
      nodeEvent(t, 'rebooting');
      await closeQuietly(transport);
      transport = undefined;

      // wait for the new system
      t0 = Date.now();
      const nodeKey = nodeKeys.get(t)!;
      await waitNewBoot(
        t,
        bootId,
        options.identity.privateKeyPath,
        options.bootTimeoutMs ?? 300_000,
        signal,
        {
          expected: nodeKey.record,
          ...(previousKey ? { previous: previousKey } : {}),
        },
      );
      result.hostKey = nodeKey.record;
      await rememberHostKey(
        t.machine,
        nodeKey.record,
        `${t.address} ${t.host} ${new Date().toISOString()}`,
      ).catch((e: unknown) =>
        reporter?.emit({
          type: 'warn',
          message: `${t.machine}: cannot remember its host key: ${reasonOf(e)}`,
        }),
      );
      result.timings.bootMs = Date.now() - t0;
      result.status = 'up';
      upCount++;
      nodeEvent(t, 'up', `${t.address}, ready ${Math.round(result.timings.bootMs / 100) / 10} s after kexec`);
      reporter?.emit({ type: 'progress', task: 'nodes up', current: upCount, total });
    } catch (e) {
      if (e instanceof StepError) {
        result.step = e.step;
        result.reason = e.message;
        result.status = e.unreachable ? 'unreachable' : 'failed';
      } else {
        result.step = result.step ?? 'connect';
        result.reason = reasonOf(e);
        result.status = isNxcError(e) && e.code === 'NXC_NODE_UNREACHABLE' ? 'unreachable' : 'failed';
      }
      nodeEvent(t, result.status, `${result.step}: ${result.reason}`);
    } finally {
      if (!arrived) arrive();
      await closeQuietly(transport);
    }
    return result;
  };

  // keeps the process alive while only unsettled network promises are pending (see withTimeout)
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    const nodes = await Promise.all(options.targets.map((t) => limit(() => deployOne(t))));
    if (diskProblems.length > 0) throw disksError(diskProblems);
    return { nodes, document, deployParam };
  } finally {
    clearInterval(keepAlive);
    await server?.close();
  }
}

/**
 * Polls `target` until an SSH login with the deployment's key works on a boot other than
 * `oldBootId` and the node reports `/run/nxc/ready`. Only `keys.expected` (the key nxc gave
 * the node) is accepted; `keys.previous` (the system before kexec, still up for a moment) is
 * waited out; any other key fails the node at once.
 */
async function waitNewBoot(
  t: KexecTarget,
  oldBootId: string,
  privateKey: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  keys: { expected: string; previous?: string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  // give the old system time to go down
  await sleep(1500);
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
    const banner = await probeSshBanner(t.address, 22, 1500);
    if (!banner) {
      last = 'SSH does not answer';
      await sleep(500);
      continue;
    }
    const hostKeys = new HostKeyStore({});
    hostKeys.trust(t.host, [keys.expected], 'the key nxc gave it with its initrd');
    const transport = new SshTransport({
      nodes: { [t.host]: { address: t.address } },
      privateKey,
      hostKeys,
      connectTimeoutMs: 10_000,
    });
    try {
      const r = await withTimeout(
        transport.exec(
          t.host,
          'cat /proc/sys/kernel/random/boot_id; test -e /run/nxc/ready && echo NXC_READY',
          { timeoutMs: 10_000 },
        ),
        20_000,
        'SSH login',
      );
      const [bootId = ''] = r.stdout.trim().split('\n');
      if (bootId && bootId !== oldBootId) {
        if (r.stdout.includes('NXC_READY')) return;
        last = 'the new system answers SSH but is not ready (/run/nxc/ready missing)';
      } else {
        last = 'still the system from before kexec';
      }
    } catch (e) {
      const refused = hostKeys.mismatch(t.host);
      if (refused && refused.actual !== keys.previous) {
        throw new StepError(
          'boot',
          `after kexec, ${t.address} presented host key ${fingerprint(refused.actual)}, not the one nxc gave the node (${fingerprint(keys.expected)}): refusing it (another machine at this address, or a system that does not install nxc's host key)`,
        );
      }
      last = refused ? 'still the system from before kexec' : reasonOf(e);
    } finally {
      await closeQuietly(transport);
    }
    await sleep(1000);
  }
  throw new StepError(
    'boot',
    `did not come back within ${Math.round(timeoutMs / 1000)} s after kexec (${last})`,
  );
}
