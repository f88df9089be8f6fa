/**
 * The kexec deployment engine shared by g5k-ramdisk and g5k-nfs-store: for every reserved
 * machine, in parallel and independently,
 *   1. connect as root (the key of the site's standard environment, else the deployment's
 *      identity: a node still running a previous nxc deployment),
 *   2. get kernel + initrd onto it unless it already holds files with the same SHA-256: read
 *      from the shared home, relayed by another machine, or pushed by the frontend (see
 *      distribute.ts); every copy is checked by its SHA-256 computed on the machine,
 *   3. `kexec -l` them with `deploy=...` on the command line, then a detached `kexec -e`,
 *   4. wait for SSH on the node's address until a NEW boot (boot id changed) authorizes the
 *      deployment's key and reports `/run/nxc/ready`.
 * A node that fails any step is reported with the step and the reason; the others go on.
 */
import { createHash, randomInt } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
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
import {
  DistributionPlan,
  LISTENING_MARK,
  NETCAT_PROBE,
  type Netcat,
  parseNetcat,
  receiverCommand,
  senderCommand,
} from './distribute.js';
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
  /** SSH logins, and pushes from the frontend, at once (default 32). */
  concurrency?: number;
  /**
   * How kernel and initrd reach the machines (default `auto`): `auto` lets a machine read them
   * from the shared home when it sees the same bytes there (SHA-256 computed on the machine),
   * else relays them from machine to machine (the frontend sends one copy, to the first one),
   * with a direct push from the frontend as the fallback; `direct`: the frontend pushes to every
   * machine.
   */
  distribution?: 'auto' | 'direct';
  /** A relay whose receiver gets no new byte for this long is abandoned (default 15 s). */
  relayStallMs?: number;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Outcome of one node. */
export interface KexecNodeResult extends KexecTarget {
  status: 'up' | 'failed' | 'unreachable';
  /** Step that failed. */
  step?: 'connect' | 'push' | 'kexec' | 'boot';
  reason?: string;
  /**
   * Bytes of kernel/initrd the frontend sent to this node, counted as its SFTP server
   * acknowledged them (0 when it already held them, read them from the shared home, or got
   * them from another machine).
   */
  pushedBytes: number;
  /**
   * Where its kernel and initrd came from: `cached` (it already held them), `shared` (read by
   * the machine from the frontend's path, on the shared home), `relay` (from another machine),
   * `frontend` (pushed by the frontend). Unset when it failed before.
   */
  source?: 'cached' | 'shared' | 'relay' | 'frontend';
  /** The machine it was relayed from (`relay`), or the path it read (`shared`). */
  from?: string;
  /** Why it fell back to a push from the frontend (its relay failed). */
  fallback?: string;
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
  /**
   * Bytes of kernel/initrd the frontend sent in this deployment, all nodes together (the sum
   * of the nodes' `pushedBytes`): about `artifactBytes` with a relay, 0 from the shared home.
   */
  frontendBytes: number;
  /** Size of kernel + initrd (one copy). */
  artifactBytes: number;
}

const DEFAULT_PUSH_PATH = '/tmp/nxc-kexec';
const q = shellQuote;
const PATH_PREFIX = 'PATH=$PATH:/sbin:/usr/sbin:/run/current-system/sw/bin; ';

/**
 * The shell command checking a copy on a machine: when the SHA-256 of `part` (a shell-quoted
 * path) is `sum`, moves it to `final`; otherwise deletes it and prints its digest after
 * `NXC-CORRUPT:` (see {@link corruptDigest}). Safe to run twice at once (an SSH channel retry
 * may): a run that finds `part` gone, or cannot move it, succeeds when `final` is the expected
 * file, else exits 1 with a message.
 */
export function verifyCommand(part: string, final: string, sum: string): string {
  if (!/^[0-9a-f]{64}$/.test(sum)) throw new Error(`verifyCommand: not a SHA-256 digest: ${sum}`);
  return [
    `if got=$(sha256sum ${part} 2>/dev/null); then got=\${got%% *}`,
    `if [ "$got" != ${sum} ]; then rm -f ${part}; echo "NXC-CORRUPT:$got"; exit 0; fi`,
    `mv -f ${part} ${final} && exit 0; fi`,
    `f=$(sha256sum ${final} 2>/dev/null) && [ "\${f%% *}" = ${sum} ] && exit 0`,
    `echo "the copy ${part} is gone and ${final} is not the expected file" >&2; exit 1`,
  ].join('\n');
}

/** The digest a {@link verifyCommand} found instead of the expected one, if it found another. */
export function corruptDigest(output: string): string | undefined {
  return /NXC-CORRUPT:(\S*)/.exec(output)?.[1];
}

/** Exit statuses of {@link kexecStepCommand} that are not `kexec -l`'s own. */
const KEXEC_MISSING = 90;
const KEY_NOT_ADDED = 91;
const INITRD_NOT_RESTORED = 92;

/**
 * The shell command of the kexec step on a machine: appends stdin (the node's host key archive)
 * to `initrd` (a shell-quoted path, made private first), runs `load` (the `kexec -l` line),
 * cuts `initrd` back to `initrdSize` bytes whatever happened, then, when the load succeeded,
 * starts `kexec -e` detached (a process started over SSH dies with its channel otherwise).
 */
export function kexecStepCommand(initrd: string, initrdSize: number, load: string): string {
  const restore = `truncate -s ${initrdSize} ${initrd}`;
  return [
    `command -v kexec >/dev/null 2>&1 || exit ${KEXEC_MISSING}`,
    `chmod 600 ${initrd} || exit ${KEY_NOT_ADDED}`,
    `if ! cat >> ${initrd}; then ${restore}; exit ${KEY_NOT_ADDED}; fi`,
    `${load}; rc=$?`,
    `${restore} || exit ${INITRD_NOT_RESTORED}`,
    '[ "$rc" -eq 0 ] || exit "$rc"',
    `setsid sh -c 'sleep 1; ${PATH_PREFIX.replace(/'/g, '')}kexec -e' </dev/null >/dev/null 2>&1 &`,
  ].join('\n');
}

/** The one-line reason of a failed {@link kexecStepCommand}. */
export function kexecStepFailure(r: { exitCode: number; stdout: string; stderr: string }): string {
  const last = (r.stderr.trim() || r.stdout.trim()).split('\n').pop() ?? '';
  switch (r.exitCode) {
    case KEXEC_MISSING:
      return 'kexec is not installed on the machine (kexec-tools)';
    case KEY_NOT_ADDED:
      return `cannot add the node's host key to its initrd${last ? `: ${last}` : ''}`;
    case INITRD_NOT_RESTORED:
      return `cannot cut the initrd back to its size after adding the node's host key${last ? `: ${last}` : ''}`;
    default:
      return `\`kexec\` exited ${r.exitCode}${last ? `: ${last}` : ''}`;
  }
}

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
  // every machine's commands wait on it at once (Node warns past 10 listeners): not a leak
  const signal = options.signal ? AbortSignal.any([options.signal]) : undefined;
  if (signal) setMaxListeners(0, signal);
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
  // SSH logins and frontend pushes; the wait for the other machines' disk check holds no slot
  const limit = pLimit(Math.max(1, options.concurrency ?? 32));
  const nodeEvent = (t: KexecTarget, state: string, detail?: string): void =>
    reporter?.emit({
      type: 'node',
      host: t.host,
      state,
      detail: detail ? `${t.machine}: ${detail}` : t.machine,
    });

  // 5. distribution of kernel + initrd (see distribute.ts)
  const mode = options.distribution ?? 'auto';
  const stallMs = options.relayStallMs ?? 15_000;
  // a size check is an SSH command on the receiver: three per stall period are enough to see
  // one (every transfer runs them: with one every 2 s, 100 machines relaying on one host made
  // about 25 SSH commands a second)
  const watchMs = Math.max(500, Math.min(5000, Math.round(stallMs / 3)));
  const artifactBytes = kernelSize + initrdSize;
  const shared = mode === 'auto' ? await sharedCandidates(artifacts) : undefined;
  const plan = new DistributionPlan(mode);
  let frontendBytes = 0;
  let settledCount = 0;
  let haveCount = 0;
  let allSettled: () => void = () => undefined;
  const settledAll = new Promise<void>((resolve) => {
    allSettled = resolve;
  });
  if (total === 0) allSettled();

  /** A machine logged into and probed, during its distribution. */
  interface Live {
    t: KexecTarget;
    transport: SshTransport;
    result: KexecNodeResult;
    nc: Netcat;
    missing: typeof artifacts;
    obtained?: { resolve(): void; reject(e: unknown): void };
    /** Why it cannot go on (it failed while relaying). */
    dead?: string;
    /** A relay to it failed while both machines still answered, and it was relayed again. */
    relayRetried?: boolean;
  }
  const live = new Map<string, Live>();
  const distNode = (n: Live) => ({ id: n.t.machine, relayCapable: n.nc !== 'none' });
  const partOf = (n: Live, name: string) =>
    `${pushPath}/${name}.part-${n.t.machine.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  // a machine busy enough (its disk, its CPU) can miss one answer, or its SSH connection can
  // close under it: two tries, the second on a fresh connection, ~15 s in all, before it counts
  // as gone (every holder waits for that answer before its kexec: not longer)
  const alive = async (n: Live): Promise<boolean> => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (signal?.aborted) return false;
      const ok = await withTimeout(
        n.transport.exec(n.t.machine, 'true', { timeoutMs: 6000, repeatable: true }),
        7000,
        'SSH',
      )
        .then((r) => r.exitCode === 0)
        .catch(() => false);
      if (ok) return true;
      if (attempt < 2) await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };
  const reportHave = (n: Live): void => {
    haveCount++;
    reporter?.emit({
      type: 'progress',
      task: 'artifacts',
      current: haveCount,
      total,
      detail: `${n.t.machine} (${n.result.source}${n.result.from ? ` from ${n.result.from}` : ''}); the frontend sent ${frontendBytes} bytes so far`,
    });
  };

  /** Checks a copy at `part` on the node and moves it in place (one command on the node). */
  const verifyPart = async (n: Live, a: (typeof artifacts)[number]): Promise<void> => {
    const part = partOf(n, a.name);
    const r = await n.transport.exec(
      n.t.machine,
      PATH_PREFIX + verifyCommand(q(part), q(`${pushPath}/${a.name}`), a.sum),
      { timeoutMs: 120_000, repeatable: true, ...(signal ? { signal } : {}) },
    );
    if (r.exitCode !== 0)
      throw new StepError(
        'push',
        `cannot check the ${a.name} on the machine: ${(r.stderr.trim() || r.stdout.trim()).split('\n').pop() || `exit ${r.exitCode}`}`,
      );
    const got = corruptDigest(r.stdout);
    if (got !== undefined)
      throw new StepError(
        'push',
        `the ${a.name} arrived corrupted (sha256 ${got.slice(0, 12)}… instead of ${a.sum.slice(0, 12)}…)`,
      );
  };

  const pushDirect = async (n: Live): Promise<void> => {
    for (const a of n.missing) {
      const part = partOf(n, a.name);
      try {
        await n.transport.copyTo(n.t.machine, a.local, part, {
          onBytes: (b) => {
            n.result.pushedBytes += b;
            frontendBytes += b;
          },
        });
      } catch (e) {
        throw new StepError('push', `cannot upload the ${a.name}: ${reasonOf(e)}`);
      }
      await verifyPart(n, a);
    }
  };

  /** Relays `to`'s missing artifacts from `from`; says which end failed when it does. */
  const relay = async (
    from: Live,
    to: Live,
  ): Promise<{ ok: true } | { ok: false; senderOk: boolean; receiverOk: boolean; reason: string }> => {
    for (const a of [...to.missing]) {
      const port = randomInt(20_000, 60_000);
      const part = partOf(to, a.name);
      const fifo = `${pushPath}/.relay-${to.t.machine.replace(/[^A-Za-z0-9._-]/g, '_')}-${port}`;
      const abort = new AbortController();
      const both = signal ? AbortSignal.any([signal, abort.signal]) : abort.signal;
      let why = '';
      const stop = (reason: string): void => {
        if (!why) why = reason;
        abort.abort();
      };
      const end = (side: string) => (r: { exitCode: number; stderr: string }) => {
        if (r.exitCode !== 0)
          stop(
            `${side} exited ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}`,
          );
        return r.exitCode === 0;
      };
      // the sender starts once the receiver listens (its retries need not outlast a slow start)
      let listening: () => void = () => undefined;
      const listens = new Promise<void>((resolve) => {
        listening = resolve;
      });
      let heard = '';
      const receiving = to.transport
        .exec(to.t.machine, PATH_PREFIX + receiverCommand(to.nc, port, q(part), q(fifo)), {
          signal: both,
          // a netcat started twice fails the relay (one of them cannot listen, or the copy is
          // replaced and then fails its check): the machine falls back to a frontend push
          repeatable: true,
          onStdout: (chunk) => {
            heard = (heard + chunk.toString()).slice(-64);
            if (heard.includes(LISTENING_MARK)) listening();
          },
        })
        .then(end(`the receiving netcat on ${to.t.machine}`), (e: unknown) => {
          stop(reasonOf(e));
          return false;
        })
        .finally(listening);
      const sending = listens.then(() =>
        why
          ? false
          : from.transport
              .exec(
                from.t.machine,
                PATH_PREFIX + senderCommand(from.nc, to.t.address, port, q(`${pushPath}/${a.name}`)),
                // a second sender finds the listener taken and fails the relay: a fallback push
                { signal: both, repeatable: true },
              )
              .then(end(`the sending netcat on ${from.t.machine}`), (e: unknown) => {
                stop(reasonOf(e));
                return false;
              }),
      );
      // a receiver that gets nothing new for stallMs: one end is gone (a TCP peer that vanished
      // sends no reset, and netcat would wait for ever)
      // A size check that itself fails (a loaded machine answering slowly) proves nothing either
      // way: only checks that answered count, unless none has answered for three times as long.
      let size = -1;
      let progressAt = Date.now();
      let answeredAt = Date.now();
      const watch = setInterval(() => {
        void withTimeout(
          to.transport.exec(to.t.machine, `ls -ln ${q(part)} 2>/dev/null; true`, {
            timeoutMs: 5000,
            repeatable: true,
          }),
          6000,
          'size of the part',
        )
          .then((r) => Number(r.stdout.trim().split(/\s+/)[4] ?? -1))
          .catch(() => Number.NaN)
          .then((now) => {
            if (Number.isNaN(now)) {
              if (Date.now() - answeredAt > 3 * stallMs)
                stop(`${to.t.machine} did not answer for ${Math.round((3 * stallMs) / 1000)} s`);
              return;
            }
            answeredAt = Date.now();
            if (now > size) {
              size = now;
              progressAt = Date.now();
            } else if (Date.now() - progressAt > stallMs) {
              stop(`no byte arrived for ${Math.round(stallMs / 1000)} s`);
            }
          });
      }, watchMs);
      const [received, sent] = await Promise.all([receiving, sending]).finally(() => clearInterval(watch));
      if (received && sent) {
        try {
          await verifyPart(to, a);
          // a fallback push sends only what is still missing
          to.missing = to.missing.filter((m) => m !== a);
          continue;
        } catch (e) {
          return { ok: false, senderOk: true, receiverOk: true, reason: reasonOf(e) };
        }
      }
      if (signal?.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
      const [senderOk, receiverOk] = await Promise.all([alive(from), alive(to)]);
      return { ok: false, senderOk, receiverOk, reason: why || 'the relay failed' };
    }
    return { ok: true };
  };

  const startTransfers = (): void => {
    for (const { to, assignment } of plan.next()) {
      const n = live.get(to);
      if (!n) continue;
      void (async () => {
        if (assignment.kind === 'frontend') {
          nodeEvent(n.t, 'pushing', `${n.missing.map((a) => a.name).join(' + ')} from the frontend`);
          try {
            await limit(() => pushDirect(n));
            n.result.source = 'frontend';
            plan.finished(to, true);
            n.obtained?.resolve();
          } catch (e) {
            plan.finished(to, false);
            n.obtained?.reject(e);
          }
        } else {
          const p = live.get(assignment.from);
          if (!p) return;
          nodeEvent(n.t, 'receiving', `${n.missing.map((a) => a.name).join(' + ')} from ${p.t.machine}`);
          try {
            const r = await relay(p, n);
            if (r.ok) {
              n.result.source = 'relay';
              n.result.from = p.t.machine;
              plan.finished(to, true, { id: p.t.machine, ok: true });
              n.obtained?.resolve();
            } else {
              plan.finished(to, false, { id: p.t.machine, ok: r.senderOk });
              if (!r.senderOk)
                p.dead = `stopped answering while relaying the artifacts to ${n.t.machine} (${r.reason})`;
              if (r.receiverOk && r.senderOk && !n.relayRetried) {
                // both machines answer: a passing fault (a dropped connection, a netcat that
                // died); one more relay, from another holder when one is free
                n.relayRetried = true;
                nodeEvent(
                  n.t,
                  'relay-retry',
                  `the relay from ${p.t.machine} failed (${r.reason}); relaying again`,
                );
                plan.want(distNode(n), false, p.t.machine);
              } else if (r.receiverOk) {
                n.result.fallback = `the relay from ${p.t.machine} failed (${r.reason})${r.senderOk ? '' : `: ${p.t.machine} does not answer any more`}`;
                nodeEvent(n.t, 'fallback', `${n.result.fallback}; pushing from the frontend`);
                plan.want(distNode(n), true);
              } else {
                n.obtained?.reject(
                  new StepError(
                    'push',
                    `stopped answering while receiving the artifacts from ${p.t.machine} (${r.reason})`,
                  ),
                );
              }
            }
          } catch (e) {
            plan.finished(to, false, { id: p.t.machine, ok: true });
            n.obtained?.reject(e);
          }
        }
        startTransfers();
      })();
    }
  };

  /** Gets kernel + initrd onto a probed machine (resolves when it holds verified copies). */
  const obtain = async (n: Live): Promise<void> => {
    if (n.missing.length === 0) {
      n.result.source = 'cached';
      plan.holds(distNode(n));
      return;
    }
    if (shared) {
      const via = await readShared(n, shared);
      if (via) {
        n.result.source = 'shared';
        n.result.from = via;
        plan.holds(distNode(n));
        return;
      }
    }
    await new Promise<void>((resolve, reject) => {
      n.obtained = { resolve, reject };
      plan.want(distNode(n));
      startTransfers();
    });
  };

  /** The machine copies each missing artifact from the frontend's path(s); its SHA-256 decides. */
  const readShared = async (n: Live, paths: Map<string, string[]>): Promise<string | undefined> => {
    let via: string | undefined;
    for (const a of [...n.missing]) {
      const part = partOf(n, a.name);
      const tries = (paths.get(a.name) ?? [])
        .map(
          (p) =>
            `if [ -f ${q(p)} ] && [ "$(ls -lnL ${q(p)} | awk '{print $5}')" = ${a.size} ] && cat ${q(p)} > ${q(part)} && [ "$(sha256sum ${q(part)} | cut -c1-64)" = ${a.sum} ]; then mv -f ${q(part)} ${q(`${pushPath}/${a.name}`)}; echo NXC-SHARED:${p}; exit 0; fi`,
        )
        .join('; ');
      const r = await n.transport
        .exec(n.t.machine, `${PATH_PREFIX}${tries}; rm -f ${q(part)}; exit 3`, {
          timeoutMs: 600_000,
          ...(signal ? { signal } : {}),
        })
        .catch(() => undefined);
      const line = r?.exitCode === 0 ? /NXC-SHARED:(.*)/.exec(r.stdout)?.[1] : undefined;
      if (!line) {
        if (via) nodeEvent(n.t, 'shared', `reads the kernel from ${via} but not the ${a.name}`);
        return undefined;
      }
      via = via ?? line;
      n.missing = n.missing.filter((m) => m !== a);
    }
    return via;
  };

  const deployOne = async (t: KexecTarget): Promise<KexecNodeResult> => {
    const result: KexecNodeResult = { ...t, status: 'failed', pushedBytes: 0, timings: {} };
    let transport: SshTransport | undefined;
    let arrived = !checkDisks;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      settledCount++;
      if (settledCount === total) allSettled();
    };
    try {
      if (signal?.aborted) throw new NxcError('NXC_INTERRUPTED', 'interrupted');
      // connect
      let t0 = Date.now();
      const connected = await limit(async () => {
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
        return { transport, hostKeys };
      });
      const hostKeys = connected.hostKeys;
      const tr = connected.transport;
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
        const r = await tr.exec(t.machine, PATH_PREFIX + command, {
          timeoutMs,
          // only probes go through run(): reading, and mkdir -p
          repeatable: true,
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
        `cat /proc/sys/kernel/random/boot_id; ${mode === 'auto' ? `${NETCAT_PROBE}; ` : ''}mkdir -p ${q(pushPath)} && cd ${q(pushPath)} && { sha256sum kernel initrd 2>/dev/null || true; }`,
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

      // kernel + initrd
      t0 = Date.now();
      const n: Live = {
        t,
        transport: tr,
        result,
        nc: mode === 'auto' ? parseNetcat(probe) : 'none',
        missing: artifacts.filter((a) => remoteSums.get(a.name) !== a.sum),
      };
      live.set(t.machine, n);
      await obtain(n);
      result.timings.pushMs = Date.now() - t0;
      reportHave(n);
      nodeEvent(
        t,
        'pushed',
        n.result.source === 'cached'
          ? 'already up to date, 0 bytes'
          : `${n.result.source}${n.result.from ? ` from ${n.result.from}` : ''}, ${result.pushedBytes} bytes from the frontend`,
      );
      settle();
      // it may serve other machines until every machine holds the artifacts or failed
      await settledAll;
      plan.drop(t.machine);
      if (n.dead) throw new StepError('push', n.dead);

      // kexec: one command on the machine. The node's own host key is appended to the initrd
      // pushed there (made private first), `kexec -l` reads kernel + initrd into memory, then the
      // initrd is cut back to its own size: no copy of the initrd per machine, and the file keeps
      // its checksum for the next deployment. Nothing reads the initrd meanwhile: relays from
      // this machine ended with settledAll. A command cut in the middle leaves an initrd whose
      // checksum no longer matches (the next deployment pushes it again), readable by root only.
      t0 = Date.now();
      const initrdOnNode = q(`${pushPath}/initrd`);
      const loadLine = `kexec -l ${q(`${pushPath}/kernel`)} ${q(`--initrd=${pushPath}/initrd`)} ${q(`--append=${[append, nodeParams.get(t)].filter(Boolean).join(' ')}`)}`;
      const loaded = await tr.exec(
        t.machine,
        `${PATH_PREFIX}${kexecStepCommand(initrdOnNode, initrdSize, loadLine)}`,
        {
          stdin: hostKeyInitrd(nodeKeys.get(t)!, initrdSize),
          timeoutMs: 300_000,
          ...(signal ? { signal } : {}),
        },
      );
      if (loaded.exitCode !== 0) throw new StepError('kexec', kexecStepFailure(loaded));
      result.timings.kexecMs = Date.now() - t0;
      nodeEvent(t, 'rebooting');
      live.delete(t.machine);
      await closeQuietly(tr);
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
      settle();
      plan.drop(t.machine);
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
      live.delete(t.machine);
      await closeQuietly(transport);
    }
    return result;
  };

  // keeps the process alive while only unsettled network promises are pending (see withTimeout)
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    const nodes = await Promise.all(options.targets.map((t) => deployOne(t)));
    if (diskProblems.length > 0) throw disksError(diskProblems);
    reporter?.emit({
      type: 'step',
      message: `artifacts: the frontend sent ${frontendBytes} bytes (${(artifactBytes > 0 ? frontendBytes / artifactBytes : 0).toFixed(2)} × kernel + initrd, ${artifactBytes} bytes) for ${total} machine(s)`,
    });
    return { nodes, document, deployParam, frontendBytes, artifactBytes };
  } finally {
    clearInterval(keepAlive);
    await server?.close();
  }
}

/**
 * The paths, per artifact, where a machine may find the frontend's kernel and initrd: the path
 * given and the file it resolves to, when the file is the user's (or root's) and writable by no
 * one else, and no folder above it is writable by others without the sticky bit. Undefined when
 * an artifact has no such path.
 */
export async function sharedCandidates(
  artifacts: Array<{ name: string; local: string }>,
): Promise<Map<string, string[]> | undefined> {
  const uid = process.getuid?.() ?? 0;
  const out = new Map<string, string[]>();
  for (const a of artifacts) {
    const real = await realpath(a.local).catch(() => undefined);
    if (!real) return undefined;
    const paths = [...new Set([posix.resolve(a.local), real])];
    const ok: string[] = [];
    for (const p of paths) if (await safeToShare(p, real, uid)) ok.push(p);
    if (ok.length === 0) return undefined;
    out.set(a.name, ok);
  }
  return out;
}

async function safeToShare(path: string, real: string, uid: number): Promise<boolean> {
  try {
    const f = await stat(real);
    if (!f.isFile() || (f.uid !== uid && f.uid !== 0) || (f.mode & 0o022) !== 0) return false;
    // every folder above the path as given and above the file it resolves to
    const dirs = new Set<string>();
    for (const p of [path, real]) {
      let d = posix.dirname(p);
      for (;;) {
        dirs.add(d);
        if (d === '/') break;
        d = posix.dirname(d);
      }
    }
    for (const d of dirs) {
      const s = await stat(d);
      if (s.uid !== uid && s.uid !== 0) return false;
      if ((s.mode & 0o002) !== 0 && (s.mode & 0o1000) === 0) return false;
    }
    return true;
  } catch {
    return false;
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
