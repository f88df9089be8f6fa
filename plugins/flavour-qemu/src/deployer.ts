/**
 * Deploy side of `vm-ramdisk` and `vm`: one detached QEMU per node, a private L2 segment
 * (a switch process on a unix socket in the deployment's 0700 run folder, no root needed,
 * out of other users' reach), a user-mode NIC forwarding a free host port to each guest's SSH,
 * the serial console in `artifact/<composition>/<flavour>/<host>.log` (0600: the kernel prints
 * its command line), a QMP socket for shutdown. Loaded lazily.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import {
  type DeployedNode,
  type FlavourDeployer,
  type LaunchNodesResult,
  type LeftoversContext,
  type LogLine,
  type LogsOptions,
  type NetworkControl,
  type NodeMonitor,
  type NodeStatus,
  NxcError,
  type RemovedLeftovers,
  type RunningContext,
  type StartContext,
  type StartResult,
  artifactDir,
  checkDisksFit,
  deploymentBody,
  encodeDeploymentForKernel,
  guestNetwork,
  isNxcError,
  launchNodes,
  statePath,
  writeJsonAtomic,
  z,
} from '@nxc/core/flavour';
import { HostKeyStore, SshTransport, probeSshBanner, waitForSsh } from '@nxc/ssh';
import { chooseAccel } from './accel.js';
import { DEFAULT_MEMORY_MB, type QemuOptions, forRole, ramdiskMemoryMb } from './options.js';
import {
  type LabelledProcess,
  type ProcessLabels,
  findLabelledProcesses,
  findQemus,
  isAlive,
  isOurProcess,
  isOurQemu,
  isSameProcess,
  labelledEnv,
  uptimeSeconds,
} from './processes.js';
import { qemuBinary } from './qemu-binary.js';
import { hmpCommand, qmpCommand } from './qmp.js';
import { isRunDir, makeRunDir, ownRunDirs, removeRunDirs } from './run-dir.js';
import { type SegmentSwitch, startSwitch, stopSwitch } from './segment.js';
import {
  KERNEL_CMDLINE_MAX,
  type VmSpec,
  deploymentId,
  fitsQemuConfig,
  kernelCmdline,
  nodeAddress,
  qemuArgs,
  serialSocketOf,
  vmConfig,
} from './vm-spec.js';

/** Guest-side address where QEMU itself serves the deployment document (slirp guestfwd). */
export const DEPLOYMENT_URL = 'http://10.0.2.100/deployment.json';

const nodeStateSchema = z.object({
  host: z.string(),
  role: z.string(),
  address: z.string(),
  name: z.string(),
  pid: z.number().int().optional(),
  sshPort: z.number().int(),
  qmpSocket: z.string(),
  consoleLog: z.string(),
  /** QEMU arguments, to start the node again (driver's `start()`). */
  argv: z.array(z.string()).optional(),
});
/** Schema of what the qemu flavours save (core checks it when the state is read back). */
export const qemuStateSchema = z.object({
  kind: z.literal('nxc-qemu'),
  version: z.literal(1),
  id: z.string(),
  runDir: z.string(),
  accel: z.string(),
  accelReason: z.string().optional(),
  /** The private segment: the switch's unix socket (a multicast group:port before 0.2). */
  segment: z.string(),
  /** The segment's switch process. */
  switch: z.object({ pid: z.number().int(), name: z.string(), socket: z.string() }).optional(),
  deploy: z.enum(['cmdline', 'http']),
  nodes: z.array(nodeStateSchema),
  hostKeys: z.record(z.string(), z.string()),
  /** QEMU binary used at start. */
  qemu: z.string().optional(),
});
/** What the qemu flavours save in `deploy/<composition>::<flavour>.state.json`. */
export type QemuState = z.infer<typeof qemuStateSchema>;
type NodeState = z.infer<typeof nodeStateSchema>;

/**
 * The block devices the nodes' roles declare (`nxc.disks`): one sparse raw file (0600) per
 * disk per node in the run folder, removed with it at stop. Their declared sizes together must
 * fit in the free space of the run folder's file system, checked before any file is created.
 */
async function createDisks(ctx: Start, runDir: string): Promise<Map<string, { id: string; file: string }[]>> {
  const wanted = ctx.nodes.flatMap((n) =>
    (ctx.composeInfo.roles[n.role]?.disks ?? []).map((d) => ({ host: n.host, role: n.role, ...d })),
  );
  const out = new Map<string, { id: string; file: string }[]>();
  if (wanted.length === 0) return out;
  await checkDisksFit(runDir, wanted);
  for (const d of wanted) {
    const file = join(runDir, `${d.host}.disk-${d.id}.raw`);
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.truncate(d.bytes);
    } finally {
      await handle.close();
    }
    out.set(d.host, [...(out.get(d.host) ?? []), { id: d.id, file }]);
    ctx.reporter.emit({ type: 'step', message: `${d.host}: disk ${d.id} (${d.size}) at ${file}` });
  }
  return out;
}

type Start = StartContext<QemuOptions, QemuState>;
type Running = RunningContext<QemuOptions, QemuState>;

const namePrefix = (id: string): string => `nxc-${id}-`;
/** File in a run folder naming the deployment it belongs to, for stop without documents. */
const OWNER_FILE = 'nxc-owner.json';

/** The labels of a deployment's processes and run folder (see PROCESS_LABEL). */
function ownerLabels(
  ctx: { project: { root: string }; composition: string; flavour: string },
  extra: { host?: string; runDir?: string } = {},
): ProcessLabels {
  return { project: ctx.project.root, composition: ctx.composition, flavour: ctx.flavour, ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Last `lines` lines of a console log (ANSI and carriage returns stripped). */
export async function consoleTail(file: string, lines = 15): Promise<string> {
  let text = '';
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '(no console output)';
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: console escape sequences
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  const all = clean.split('\n').filter((l) => l.trim() !== '');
  return all.length === 0 ? '(no console output)' : all.slice(-lines).join('\n');
}

/** A line in the console that means the boot failed for good. */
async function consoleFailure(file: string): Promise<string | undefined> {
  const tail = await consoleTail(file, 40);
  const m = /NXC_BOOT_ERROR[^\n]*|Kernel panic[^\n]*/.exec(tail);
  return m?.[0].trim();
}

function launch(
  qemu: string,
  args: string[],
  labels: ProcessLabels,
): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    execFile(qemu, args, { timeout: 30_000, env: labelledEnv(labels) }, (err, _stdout, stderr) =>
      resolve({ ok: !err, stderr: String(stderr || err?.message || '') }),
    );
  });
}

/** Stops one VM: ACPI powerdown over QMP, QMP quit, then SIGKILL; resolves once it is gone. */
async function stopVm(
  pid: number,
  name: string,
  qmpSocket: string | undefined,
  graceMs: number,
): Promise<void> {
  const gone = async (ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!isOurQemu(pid, name)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return !isOurQemu(pid, name);
  };
  if (!isOurQemu(pid, name)) return;
  if (qmpSocket && existsSync(qmpSocket) && graceMs > 0) {
    const asked = await qmpCommand(qmpSocket, 'system_powerdown', 1000).then(
      () => true,
      () => false,
    );
    if (asked && (await gone(graceMs))) return;
  }
  if (qmpSocket && existsSync(qmpSocket)) {
    await qmpCommand(qmpSocket, 'quit', 1000).catch(() => undefined);
    if (await gone(1500)) return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await gone(3000);
}

async function stopAll(id: string, state: QemuState | undefined, graceMs: number): Promise<void> {
  const targets = new Map<number, { name: string; qmp?: string }>();
  for (const n of state?.nodes ?? [])
    if (n.pid && isOurQemu(n.pid, n.name)) targets.set(n.pid, { name: n.name, qmp: n.qmpSocket });
  for (const q of findQemus(namePrefix(id))) if (!targets.has(q.pid)) targets.set(q.pid, { name: q.name });
  await Promise.all([...targets].map(([pid, t]) => stopVm(pid, t.name, t.qmp, graceMs)));
  await stopSwitch(id, state?.switch);
  removeRunDirs(id, state?.runDir);
}

function resolveArtifact(value: string | undefined, what: string, source: string, flavour: string): string {
  if (!value) {
    throw new NxcError('NXC_COMPOSE_INFO', `${source}: no all.${what} for flavour ${flavour}`, {
      hint: `rebuild with \`nxc build -f ${flavour}\``,
    });
  }
  let path = value;
  try {
    if (statSync(path).isDirectory()) path = join(path, what === 'kernel' ? 'bzImage' : 'initrd');
    statSync(path);
  } catch {
    throw new NxcError('NXC_COMPOSE_INFO', `${source}: all.${what} ${value} does not exist`, {
      hint: `rebuild with \`nxc build -f ${flavour}\` (the store path may have been garbage-collected)`,
    });
  }
  return path;
}

/**
 * Guest RAM per role. A ramdisk node holds its whole store in memory (docs: the memory rule):
 * a role the `memory` option does not size gets what its initrd needs, and nxc says so; a
 * role sized below it gets a warning (its kernel would fail to unpack the initrd).
 */
function ramdiskMemory(
  ctx: Start,
  kind: string,
  initrd: string,
  nodes: { role: string }[],
  memory: number | Record<string, number> | undefined,
): (role: string) => number {
  if (kind !== 'ramdisk') return (role) => forRole(memory, role, DEFAULT_MEMORY_MB);
  const initrdBytes = statSync(initrd).size;
  const needMb = ramdiskMemoryMb(initrdBytes);
  const initrdMb = Math.ceil(initrdBytes / (1024 * 1024));
  const fallback = Math.max(DEFAULT_MEMORY_MB, needMb);
  const roles = [...new Set(nodes.map((n) => n.role))].sort();
  const sized = roles.filter((r) => forRole(memory, r, -1) === -1);
  if (sized.length > 0 && needMb > DEFAULT_MEMORY_MB)
    ctx.reporter.emit({
      type: 'step',
      message: `guest memory ${fallback} MiB for an initrd of ${initrdMb} MiB (the store stays in RAM; roles ${sized.join(', ')}; the memory option overrides)`,
    });
  for (const r of roles) {
    const mb = forRole(memory, r, fallback);
    if (mb < needMb)
      ctx.reporter.emit({
        type: 'warn',
        message: `role ${r}: memory ${mb} MiB is less than the ${needMb} MiB an initrd of ${initrdMb} MiB needs; its kernel may fail with "Initramfs unpacking failed" (raise memory or leave it unset)`,
      });
  }
  return (role) => forRole(memory, role, fallback);
}

async function start(ctx: Start): Promise<StartResult> {
  const opts = ctx.options;
  const qemu = qemuBinary(opts.qemu);
  if (!qemu) {
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      `flavour ${ctx.flavour}: ${opts.qemu ?? 'qemu-system-x86_64'} not found`,
      {
        hint: 'install QEMU (Debian: `apt-get install qemu-system-x86`) or set the `qemu` option',
      },
    );
  }
  const info = ctx.composeInfo;
  const kind = info.flavour.image ?? (ctx.flavour === 'vm' ? 'vm' : 'ramdisk');
  const kernel = resolveArtifact(info.all.kernel, 'kernel', info.source, ctx.flavour);
  const initrd = resolveArtifact(info.all.initrd, 'initrd', info.source, ctx.flavour);
  if (ctx.nodes.length === 0)
    throw new NxcError('NXC_DISTRIBUTION', 'no node to start', { hint: 'give at least one role a count' });

  const accel = await chooseAccel(
    qemu,
    opts.accel === 'auto' ? undefined : opts.accel,
    opts.kvmProbeTimeoutMs,
  );
  ctx.reporter.emit({ type: 'step', message: `accelerator: ${accel.accel} (${accel.reason})` });
  const id = deploymentId(ctx.project.root, ctx.composition, ctx.flavour);
  // a crashed earlier start of the same deployment may have left VMs: they would hold the segment
  await stopAll(id, undefined, 0);

  const logs = artifactDir(ctx.project, ctx.composition, ctx.flavour);
  await mkdir(logs, { recursive: true });
  const run = await makeRunDir(id);
  if (run.warning) ctx.reporter.emit({ type: 'warn', message: run.warning });
  const runDir = run.path;
  await writeJsonAtomic(join(runDir, OWNER_FILE), ownerLabels(ctx, { runDir }), { mode: 0o600 });
  const nodes: NodeState[] = [];
  let state: QemuState | undefined;
  let segmentSwitch: SegmentSwitch | undefined;
  const cleanup = async (): Promise<void> => {
    await stopAll(
      id,
      state ?? {
        kind: 'nxc-qemu',
        version: 1,
        id,
        runDir,
        accel: accel.accel,
        segment: segmentSwitch?.socket ?? '',
        ...(segmentSwitch ? { switch: segmentSwitch } : {}),
        deploy: 'cmdline',
        nodes,
        hostKeys: {},
      },
      0,
    );
  };

  try {
    const diskFiles = await createDisks(ctx, runDir);
    const used = new Set<number>();
    for (const [i, n] of ctx.nodes.entries()) {
      let port = await freePort();
      while (used.has(port)) port = await freePort();
      used.add(port);
      nodes.push({
        host: n.host,
        role: n.role,
        address: nodeAddress(i, opts.subnet),
        name: `${namePrefix(id)}${n.host}`,
        sshPort: port,
        qmpSocket: join(runDir, `${n.host}.qmp`),
        consoleLog: join(logs, `${n.host}.log`),
      });
    }
    const deployed: DeployedNode[] = nodes.map((n) => ({ role: n.role, host: n.host, address: n.address }));
    const doc = await ctx.writeDeployment(deployed);

    // deploy= inline when it fits, else served by QEMU itself to its guest (lives as long as the VM)
    const encoded = encodeDeploymentForKernel(
      doc,
      opts.kernelDeployBudget ? { budget: opts.kernelDeployBudget } : {},
    );
    const cmdlineFor = (n: NodeState, deploy: string, deploySha256?: string): string =>
      kernelCmdline({
        image: info.all.cmdline,
        deploy,
        ...(deploySha256 ? { deploySha256 } : {}),
        flavour: ctx.flavour,
        host: n.host,
        address: n.address,
        extra: [
          ctx.kernelParams,
          opts.kernelParams?.[n.host] ?? opts.kernelParams?.[n.role] ?? opts.kernelParams?.default,
        ]
          .filter(Boolean)
          .join(' '),
      });
    // inline only when the line also fits QEMU's config file: it must not go on argv (see vm-spec.ts)
    const mode: 'cmdline' | 'http' =
      encoded.fits &&
      nodes.every((n) => {
        const line = cmdlineFor(n, encoded.value);
        return line.length <= KERNEL_CMDLINE_MAX && fitsQemuConfig(line);
      })
        ? 'cmdline'
        : 'http';
    let guestfwd: string | undefined;
    let servedSha256: string | undefined;
    if (mode === 'http') {
      const served = join(runDir, 'deployment.json');
      const body = deploymentBody(doc);
      servedSha256 = body.sha256;
      await writeFile(served, body.body, { mode: 0o600 });
      const script = join(runDir, 'serve-deployment.sh');
      await writeFile(
        script,
        `#!/bin/sh\nprintf 'HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\nConnection: close\\r\\n\\r\\n'\nexec cat '${served}'\n`,
        { mode: 0o700 },
      );
      guestfwd = `tcp:10.0.2.100:80-cmd:/bin/sh ${script.replace(/,/g, ',,')}`;
      const long = nodes.find((n) => cmdlineFor(n, DEPLOYMENT_URL, servedSha256).length > KERNEL_CMDLINE_MAX);
      if (long) {
        throw new NxcError(
          'NXC_USAGE',
          `kernel command line of ${long.host} is longer than ${KERNEL_CMDLINE_MAX} bytes even with the deployment served over HTTP`,
          {
            hint: 'shorten the -k kernel parameters',
          },
        );
      }
      ctx.reporter.emit({
        type: 'step',
        message: `deployment document too large for the kernel command line (${encoded.length} bytes): served over HTTP at ${DEPLOYMENT_URL}`,
      });
    }
    const deployParam = mode === 'http' ? DEPLOYMENT_URL : encoded.value;

    const memoryMb = ramdiskMemory(ctx, kind, initrd, nodes, opts.memory);
    segmentSwitch = await startSwitch(runDir, id, labelledEnv(ownerLabels(ctx, { runDir })));
    const specs: VmSpec[] = nodes.map((n, i) => ({
      name: n.name,
      host: n.host,
      kernel,
      initrd,
      append: cmdlineFor(n, deployParam, servedSha256),
      config: join(runDir, `${n.host}.cfg`),
      accel: accel.accel,
      memoryMb: memoryMb(n.role),
      cpus: forRole(opts.cpus, n.role, 1),
      sshPort: n.sshPort,
      segment: segmentSwitch!.socket,
      index: i + 1,
      consoleLog: n.consoleLog,
      qmpSocket: n.qmpSocket,
      pidFile: join(runDir, `${n.host}.pid`),
      shareStore: kind === 'vm',
      ...(guestfwd ? { guestfwd } : {}),
      ...(diskFiles.has(n.host) ? { disks: diskFiles.get(n.host)! } : {}),
    }));
    for (const s of specs) {
      await writeFile(s.config, vmConfig(s), { mode: 0o600 });
      // the guest kernel prints its command line (the deployment) on the console
      await writeFile(s.consoleLog, '', { mode: 0o600 });
      await chmod(s.consoleLog, 0o600);
    }
    ctx.reporter.emit({ type: 'step', message: `booting ${specs.length} VMs (${accel.accel})` });
    // a forwarded port taken between our check and QEMU's bind: retry with another one
    const launchOne = async (s: VmSpec): Promise<{ ok: boolean; stderr: string }> => {
      for (let attempt = 0; ; attempt++) {
        if (ctx.signal.aborted) return { ok: false, stderr: 'interrupted' };
        const r = await launch(qemu, qemuArgs(s), ownerLabels(ctx, { host: s.host, runDir }));
        if (r.ok || attempt >= 2 || !/host forwarding|hostfwd/i.test(r.stderr)) return r;
        s.sshPort = await freePort();
        nodes.find((x) => x.host === s.host)!.sshPort = s.sshPort;
      }
    };
    const launched = await Promise.all(specs.map(async (s) => ({ s, r: await launchOne(s) })));
    for (const s of specs) nodes.find((x) => x.host === s.host)!.argv = qemuArgs(s);
    for (const { s } of launched) {
      const pid = Number((await readFile(s.pidFile, 'utf8').catch(() => '')).trim());
      const n = nodes.find((x) => x.host === s.host)!;
      if (pid > 0) n.pid = pid;
    }
    state = {
      kind: 'nxc-qemu',
      version: 1,
      id,
      runDir,
      accel: accel.accel,
      accelReason: accel.reason,
      segment: segmentSwitch.socket,
      switch: segmentSwitch,
      deploy: mode,
      nodes,
      hostKeys: {},
      qemu,
    };
    await ctx.saveState(state);
    const failed = launched.find((l) => !l.r.ok);
    if (failed) {
      const line =
        failed.r.stderr
          .trim()
          .split('\n')
          .filter((l) => !/warning:/.test(l))
          .pop() ?? failed.r.stderr.trim();
      throw new NxcError('NXC_NODE_FAILED', `vm "${failed.s.host}": QEMU did not start: ${line}`, {
        hint: 'check the kernel/initrd of the build and the flavour options (memory, cpus, accel)',
      });
    }
    for (const n of nodes)
      ctx.reporter.emit({
        type: 'node',
        host: n.host,
        state: 'booting',
        detail: `pid ${n.pid}, ssh 127.0.0.1:${n.sshPort}`,
      });

    if (ctx.signal.aborted)
      throw new NxcError(
        'NXC_INTERRUPTED',
        `start of ${ctx.composition}::${ctx.flavour} interrupted; VMs stopped`,
      );
    if (ctx.wait) {
      const hostKeys = new HostKeyStore({}, { learn: true });
      await waitAllReady(ctx, nodes, hostKeys);
      state.hostKeys = hostKeys.toJSON();
      await ctx.saveState(state);
    }
    return { nodes: nodes.map((n) => nodeStatus(n, ctx.wait ? 'running' : 'starting', accel.accel)) };
  } catch (error) {
    await cleanup();
    if (ctx.signal.aborted && !(isNxcError(error) && error.code === 'NXC_INTERRUPTED')) {
      throw new NxcError(
        'NXC_INTERRUPTED',
        `start of ${ctx.composition}::${ctx.flavour} interrupted; VMs stopped`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Waits until every node answers SSH and has /run/nxc/ready; the first failure stops the wait of the others. */
async function waitAllReady(
  ctx: Pick<StartContext, 'identity' | 'signal' | 'timeoutMs' | 'reporter' | 'composition' | 'flavour'>,
  nodes: NodeState[],
  hostKeys: HostKeyStore,
): Promise<void> {
  const transport = new SshTransport({
    nodes: Object.fromEntries(nodes.map((n) => [n.host, { address: '127.0.0.1', port: n.sshPort }])),
    privateKey: ctx.identity.privateKeyPath,
    hostKeys,
    connectTimeoutMs: 20_000,
  });
  const deadline = Date.now() + ctx.timeoutMs;
  const stopped = (): NxcError =>
    new NxcError('NXC_INTERRUPTED', `start of ${ctx.composition}::${ctx.flavour} interrupted; VMs stopped`);
  let result: LaunchNodesResult<NodeState, NodeState>;
  try {
    result = await launchNodes({
      nodes,
      signal: ctx.signal,
      reporter: ctx.reporter,
      progressTask: 'VMs ready',
      isCancellation: (e) => isNxcError(e) && e.code === 'NXC_INTERRUPTED',
      // already running: only their readiness is waited on here
      launch: async (n) => n,
      ready: async (n, _n, signal) => {
        const check = async (): Promise<string | undefined> => {
          if (!n.pid || !isAlive(n.pid)) return 'QEMU exited';
          const bad = await consoleFailure(n.consoleLog);
          return bad ? `boot failed: ${bad}` : undefined;
        };
        await waitForSsh('127.0.0.1', n.sshPort, {
          timeoutMs: Math.max(1, deadline - Date.now()),
          check,
          signal,
          name: `vm "${n.host}"`,
        });
        for (;;) {
          if (signal.aborted) throw stopped();
          const reason = await check();
          if (reason) throw new Error(reason);
          if (Date.now() > deadline)
            throw new Error(
              `not ready within ${Math.round(ctx.timeoutMs / 1000)} s (SSH answers, /run/nxc/ready missing)`,
            );
          try {
            const r = await transport.exec(n.host, 'test -e /run/nxc/ready', { timeoutMs: 15_000, signal });
            if (r.exitCode === 0) return;
          } catch (e) {
            if (isNxcError(e) && e.code === 'NXC_INTERRUPTED') throw e;
            if (isNxcError(e) && e.message.includes('host key')) throw e;
            // sshd up but keys or services not yet there: retry
          }
          await new Promise((r) => setTimeout(r, 300));
        }
      },
    });
  } finally {
    await transport.close();
  }
  const failures = result.failures
    .filter((f) => !f.cancellation)
    .map((f) => ({
      node: f.node,
      reason:
        f.error instanceof Error ? f.error.message.replace(`vm "${f.node.host}": `, '') : String(f.error),
    }));
  if (result.interrupted) throw stopped();
  if (failures.length > 0) {
    const first = failures[0]!;
    const others = failures.slice(1).map((f) => f.node.host);
    throw new NxcError(
      'NXC_NODE_FAILED',
      `vm "${first.node.host}" did not come up: ${first.reason}${others.length ? ` (also failed: ${others.join(', ')})` : ''}; all VMs of the deployment were stopped`,
      {
        details: `console of ${first.node.host} (last lines):\n${await consoleTail(first.node.consoleLog)}`,
        hint: `full console: ${first.node.consoleLog}`,
      },
    );
  }
}

function nodeStatus(n: NodeState, s: NodeStatus['state'], accel: string, note?: string): NodeStatus {
  const up = n.pid ? uptimeSeconds(n.pid) : undefined;
  return {
    host: n.host,
    role: n.role,
    address: n.address,
    state: s,
    ...(up !== undefined && s !== 'exited' && s !== 'stopped' ? { uptimeSeconds: up } : {}),
    detail: `pid ${n.pid ?? '?'}, ssh 127.0.0.1:${n.sshPort}, ${accel}${note ? `, ${note}` : ''}`,
  };
}

function stateOrThrow(ctx: Running): QemuState {
  const st = ctx.state;
  if (!st) {
    throw new NxcError(
      'NXC_DEPLOYMENT',
      `${ctx.composition}::${ctx.flavour}: no VM state recorded (deploy/${ctx.composition}::${ctx.flavour}.state.json)`,
      {
        hint: 'the deployment was not started by this version of nxc, or it is gone: run `nxc stop` then `nxc start`',
      },
    );
  }
  return st;
}

async function stop(ctx: Running): Promise<void> {
  const opts = ctx.options;
  const id = deploymentId(ctx.project.root, ctx.composition, ctx.flavour);
  const st = ctx.state;
  await stopAll(st?.id ?? id, st, opts.stopTimeoutMs);
  if (st && st.id !== id) await stopAll(id, undefined, 0);
}

async function status(ctx: Running): Promise<NodeStatus[]> {
  const st = ctx.state;
  if (!st) {
    return Object.entries(ctx.deployment.deployment).map(([address, n]) => ({
      host: n.host,
      role: n.role,
      address,
      state: 'unknown' as const,
      detail: 'no VM state recorded',
    }));
  }
  // without its switch the segment is down: nodes answer SSH but cannot reach each other
  const segmentDown =
    st.switch && !isOurProcess(st.switch.pid, st.switch.name)
      ? 'private segment down (switch exited)'
      : undefined;
  return Promise.all(
    st.nodes.map(async (n) => {
      if (!n.pid || !isOurQemu(n.pid, n.name)) return nodeStatus(n, 'exited', st.accel);
      const banner = await probeSshBanner('127.0.0.1', n.sshPort, 1000);
      return nodeStatus(n, banner ? 'running' : 'starting', st.accel, segmentDown);
    }),
  );
}

/** Host keys per running context, shared by its transports and its node control. */
const keyStores = new WeakMap<object, HostKeyStore>();
function hostKeysOf(ctx: Running, st: QemuState): HostKeyStore {
  const holder = (ctx.state ?? ctx) as object;
  let store = keyStores.get(holder);
  if (!store) {
    // started without waiting: a key never seen is learnt on first use and saved, so that
    // every later command checks it
    store = new HostKeyStore(st.hostKeys, {
      learn: true,
      onLearn: (host, record) => {
        st.hostKeys[host] = record;
        ctx.saveState?.(st).catch(() => undefined);
      },
    });
    keyStores.set(holder, store);
  }
  return store;
}

async function transport(ctx: Running): Promise<SshTransport> {
  const st = stateOrThrow(ctx);
  return new SshTransport({
    nodes: Object.fromEntries(st.nodes.map((n) => [n.host, { address: '127.0.0.1', port: n.sshPort }])),
    privateKey: ctx.identity.privateKeyPath,
    hostKeys: hostKeysOf(ctx, st),
  });
}

async function* logs(ctx: Running, options: LogsOptions): AsyncIterable<LogLine> {
  const st = stateOrThrow(ctx);
  const wanted = options.hosts?.length ? st.nodes.filter((n) => options.hosts!.includes(n.host)) : st.nodes;
  const offsets = new Map<string, number>();
  for (const n of wanted) {
    const text = (await readFile(n.consoleLog, 'utf8').catch(() => '')).replace(/\r/g, '');
    offsets.set(n.host, Buffer.byteLength(text));
    let lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (options.tail !== undefined) lines = lines.slice(-options.tail);
    for (const line of lines) yield { host: n.host, stream: 'console', line };
  }
  while (options.follow && !options.signal?.aborted) {
    await new Promise((r) => setTimeout(r, 300));
    for (const n of wanted) {
      const buf = await readFile(n.consoleLog).catch(() => Buffer.alloc(0));
      const from = offsets.get(n.host) ?? 0;
      const nl = buf.lastIndexOf(10);
      if (nl < from) continue;
      offsets.set(n.host, nl + 1);
      for (const line of buf.subarray(from, nl).toString('utf8').replace(/\r/g, '').split('\n'))
        yield { host: n.host, stream: 'console', line };
    }
  }
}

/**
 * Power control of single nodes for the test-script driver (`machine.shutdown()`,
 * `crash()`, `start()`). A node started again boots a fresh system, so its host key is
 * learnt again and the state file updated.
 */
function nodeControl(ctx: Running) {
  const st = stateOrThrow(ctx);
  const opts = ctx.options;
  const node = (host: string): NodeState => {
    const n = st.nodes.find((x) => x.host === host);
    if (!n)
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `node "${host}" is not in this deployment (nodes: ${st.nodes.map((x) => x.host).join(', ')})`,
      );
    return n;
  };
  const save = async (): Promise<void> => {
    // later calls with the same context (status, transport) see the new pid and key
    if (ctx.state && typeof ctx.state === 'object') Object.assign(ctx.state, JSON.parse(JSON.stringify(st)));
    await writeJsonAtomic(statePath(ctx.project, ctx.composition, ctx.flavour), st);
  };
  return {
    async shutdown(host: string): Promise<void> {
      const n = node(host);
      if (n.pid) await stopVm(n.pid, n.name, n.qmpSocket, opts.stopTimeoutMs);
    },
    async crash(host: string): Promise<void> {
      const n = node(host);
      if (n.pid) await stopVm(n.pid, n.name, undefined, 0);
    },
    async start(host: string, signal?: AbortSignal): Promise<void> {
      const n = node(host);
      if (n.pid && isOurQemu(n.pid, n.name)) return;
      if (!n.argv || !st.qemu)
        throw new NxcError(
          'NXC_DEPLOYMENT',
          `node "${host}" cannot be started again: its QEMU command was not recorded`,
          { hint: 'restart the deployment with `nxc start`' },
        );
      // the run folder holds the VM's config and the segment's socket: without it there is no deployment to rejoin
      const config = n.argv[n.argv.indexOf('-readconfig') + 1];
      if (!n.argv.includes('-readconfig') || !config || !existsSync(config))
        throw new NxcError(
          'NXC_DEPLOYMENT',
          `node "${host}" cannot be started again: the deployment's run folder ${st.runDir} is gone`,
          { hint: 'restart the deployment with `nxc stop` then `nxc start`' },
        );
      const r = await launch(st.qemu, n.argv, ownerLabels(ctx, { host, runDir: st.runDir }));
      if (!r.ok)
        throw new NxcError(
          'NXC_NODE_FAILED',
          `vm "${host}": QEMU did not start: ${r.stderr.trim().split('\n').pop()}`,
        );
      const pidFile = n.argv[n.argv.indexOf('-pidfile') + 1]!;
      n.pid = Number((await readFile(pidFile, 'utf8')).trim());
      const keys = new HostKeyStore({}, { learn: true });
      await waitAllReady({ ...ctx, signal: signal ?? ctx.signal, timeoutMs: 300_000 }, [n], keys);
      st.hostKeys[host] = keys.get(host)!;
      hostKeysOf(ctx, st).set(host, st.hostKeys[host]!);
      await save();
    },
  };
}

/**
 * The VM's keyboard and port forwarding for the test-script driver, through its QMP socket:
 * `sendkey` (the PS/2 keyboard of the `pc` machine: keys reach the guest's active virtual
 * terminal) and `hostfwd_add` on the user-mode NIC `n0` (bound to 127.0.0.1, as the SSH
 * forward; the rule lives as long as the VM).
 */
function monitor(ctx: Running): NodeMonitor {
  const st = stateOrThrow(ctx);
  const qmpOf = (host: string): string => {
    const n = st.nodes.find((x) => x.host === host);
    if (!n)
      throw new NxcError(
        'NXC_NODE_UNKNOWN',
        `node "${host}" is not in this deployment (nodes: ${st.nodes.map((x) => x.host).join(', ')})`,
      );
    if (!n.pid || !isOurQemu(n.pid, n.name) || !existsSync(n.qmpSocket))
      throw new NxcError('NXC_NODE_UNREACHABLE', `vm "${host}" is not running (no QEMU monitor)`, {
        hint: 'start it again (`machine.start()`, or `nxc start`)',
      });
    return n.qmpSocket;
  };
  const hmp = async (host: string, line: string): Promise<string> => {
    try {
      return (await hmpCommand(qmpOf(host), line, 5000)).trim();
    } catch (error) {
      if (error instanceof NxcError) throw error;
      throw new NxcError('NXC_NODE_UNREACHABLE', `vm "${host}": QEMU monitor: ${(error as Error).message}`);
    }
  };
  return {
    async sendKey(host, key) {
      if (!/^[A-Za-z0-9_-]+$/.test(key))
        throw new NxcError('NXC_USAGE', `vm "${host}": "${key}" is not a QEMU key name`, {
          hint: 'use names such as a, shift-a, ret, spc, ctrl-alt-delete, 0x0C',
        });
      const out = await hmp(host, `sendkey ${key}`);
      if (out)
        throw new NxcError('NXC_USAGE', `vm "${host}": QEMU refused key "${key}": ${out.split('\n')[0]}`, {
          hint: 'use names such as a, shift-a, ret, spc, ctrl-alt-delete, 0x0C',
        });
    },
    async sendConsole(host, chars) {
      const path = serialSocketOf(qmpOf(host));
      if (!existsSync(path))
        throw new NxcError(
          'NXC_USAGE',
          `vm "${host}" has no serial console input (started by an older nxc)`,
          {
            hint: 'restart the deployment (`nxc stop`, `nxc start`) to get one',
          },
        );
      await writeSerial(host, path, chars);
    },
    async forwardPort(host, hostPort, guestPort) {
      const out = await hmp(host, `hostfwd_add n0 tcp:127.0.0.1:${hostPort}-:${guestPort}`);
      if (out)
        throw new NxcError(
          'NXC_USAGE',
          `vm "${host}": cannot forward 127.0.0.1:${hostPort} to its port ${guestPort}: ${out.split('\n')[0]}`,
          { hint: `is port ${hostPort} already in use on this machine? pick another host port` },
        );
    },
  };
}

/**
 * Writes to a VM's serial console input: one connection to its serial socket, closed once
 * QEMU read what was written (it closes its end after our end of input). What the guest
 * prints meanwhile is read and dropped here: it is in the console log already.
 */
function writeSerial(host: string, path: string, chars: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(
        new NxcError(
          'NXC_NODE_UNREACHABLE',
          `vm "${host}": its serial console did not take the input within 10 s`,
        ),
      );
    }, 10_000);
    sock.on('data', () => {});
    sock.on('error', (error) => {
      clearTimeout(timer);
      reject(new NxcError('NXC_NODE_UNREACHABLE', `vm "${host}": serial console: ${error.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.on('connect', () => sock.end(chars));
  });
}

/** QMP socket of a QEMU command line (`-qmp unix:PATH,server=on,...`), if any. */
function qmpSocketOf(argv: string[]): string | undefined {
  const i = argv.indexOf('-qmp');
  const m = i >= 0 ? /^unix:([^,]+)/.exec(argv[i + 1] ?? '') : null;
  return m?.[1];
}

/** Stops a leftover process found by its labels: QMP quit for a QEMU, else SIGTERM, then SIGKILL. */
async function stopLabelled(p: LabelledProcess): Promise<void> {
  const gone = async (ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!isSameProcess(p.pid, p.startTime)) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return !isSameProcess(p.pid, p.startTime);
  };
  const qmp = qmpSocketOf(p.argv);
  if (qmp && existsSync(qmp)) {
    await qmpCommand(qmp, 'quit', 1000).catch(() => undefined);
    if (await gone(1500)) return;
  } else if (isSameProcess(p.pid, p.startTime)) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      return;
    }
    if (await gone(1500)) return;
  }
  if (isSameProcess(p.pid, p.startTime)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await gone(3000);
}

/** Run folders whose owner file names this project (and composition/flavour when given). */
function ownedRunDirs(match: { project: string; composition?: string; flavour?: string }): string[] {
  const out: string[] = [];
  for (const dir of ownRunDirs()) {
    let owner: Partial<ProcessLabels>;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as Partial<ProcessLabels>;
    } catch {
      continue; // an older run folder, or a start that died before writing it
    }
    if (owner.project !== match.project) continue;
    if (match.composition !== undefined && owner.composition !== match.composition) continue;
    if (match.flavour !== undefined && owner.flavour !== match.flavour) continue;
    out.push(dir);
  }
  return out;
}

/**
 * Every VM (and process) labelled with the project on this machine, and the project's run
 * folders, removed without the deployment document or state: what a killed `nxc start` or
 * deleted deploy/ files left running.
 */
async function removeLeftovers(ctx: LeftoversContext): Promise<RemovedLeftovers[]> {
  const match = {
    project: ctx.project.root,
    flavour: ctx.flavour,
    ...(ctx.composition !== undefined ? { composition: ctx.composition } : {}),
  };
  const found = new Map<string, RemovedLeftovers>();
  const entry = (composition: string): RemovedLeftovers => {
    let e = found.get(composition);
    if (!e) {
      e = { composition, flavour: ctx.flavour, removed: [] };
      found.set(composition, e);
    }
    return e;
  };
  const processes = findLabelledProcesses(match);
  await Promise.all(processes.map((p) => stopLabelled(p)));
  const dirs = new Map<string, string>();
  for (const p of processes) {
    const qemu = p.argv[0]?.includes('qemu') && p.labels.host !== undefined;
    entry(p.labels.composition).removed.push(
      qemu ? `VM ${p.labels.host} (pid ${p.pid})` : `process ${p.argv[0]} (pid ${p.pid})`,
    );
    if (p.labels.runDir !== undefined && isRunDir(p.labels.runDir))
      dirs.set(p.labels.runDir, p.labels.composition);
  }
  for (const dir of ownedRunDirs(match)) {
    const owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as ProcessLabels;
    dirs.set(dir, owner.composition);
  }
  for (const [dir, composition] of dirs) {
    if (!existsSync(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    entry(composition).removed.push(`run folder ${dir}`);
  }
  return [...found.values()];
}

/**
 * Network conditions between VMs, applied inside the guests over SSH (`ip route` prohibit
 * routes, `tc` htb + netem): the host kernel need not have netem. See docs/network.md.
 */
function network(ctx: Running): NetworkControl {
  return guestNetwork(() => transport(ctx), 'VM');
}

/** The deployer shared by `vm-ramdisk` and `vm` (the image kind decides the 9p store share). */
export const deployer: FlavourDeployer<QemuOptions, QemuState> & { nodeControl: typeof nodeControl } = {
  stateSchema: qemuStateSchema,
  start,
  stop,
  status,
  transport,
  logs,
  nodeControl,
  network,
  monitor,
  removeLeftovers,
};
