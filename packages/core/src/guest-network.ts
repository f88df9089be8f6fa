/**
 * Network conditions applied inside the nodes, through the flavour's transport (SSH to a QEMU
 * guest or a Grid'5000 node): one `sh` script per node that puts the node's whole setting in
 * force, from the conditions in force once the change is made.
 *
 * - partition: a `prohibit` route to each peer's address, tagged with route protocol 208, as
 *   the docker flavour does from the host (connections fail at once, "permission denied");
 * - delay (+jitter), loss, rate: a `tc` tree on the device that reaches the peers: root `htb`
 *   with handle `208:` (default class 208:1, unshaped), one class per shaped peer (its rate, or
 *   unlimited) holding a `netem` qdisc (delay, jitter, loss), selected by a `u32` filter on the
 *   peer's address. Only the packets a node sends are shaped, so each end shapes its own side.
 *
 * The tools are looked up first in `/run/current-system/sw/bin` (a NixOS system's path; nxc's
 * node module puts iproute2 and kmod in every node's closure), then on the login PATH. The
 * kernel modules (`sch_htb`, `sch_netem`, `cls_u32`) are loaded with modprobe when present; a
 * missing one is one error naming it and the node (exit 3), with what the call changed undone.
 */
import { NxcError } from './errors.js';
import { shellQuote } from './shell-quote.js';
import type { NetworkCondition, NetworkControl, Transport } from './transposition.js';

/** Route protocol number and tc handle marking what nxc adds on a node. */
export const NXC_NET_MARK = '208';

/** What one node must have in force: partitioned peers, shaped peers. */
export interface GuestNetSetting {
  /** Addresses of the peers this node must not reach. */
  blocked: string[];
  /** Shaping of what this node sends to a peer. */
  shaped: Array<{
    address: string;
    delayMs?: number;
    jitterMs?: number;
    lossPercent?: number;
    kbitPerSecond?: number;
  }>;
}

/** The setting of `host` under `conditions` (each condition acts on both of its ends). */
export function guestSetting(host: string, conditions: NetworkCondition[]): GuestNetSetting {
  const blocked: string[] = [];
  const shaped = new Map<string, GuestNetSetting['shaped'][number]>();
  for (const c of conditions) {
    const peer = c.a.host === host ? c.b : c.b.host === host ? c.a : undefined;
    if (!peer) continue;
    if (c.kind === 'partition') {
      if (!blocked.includes(peer.address)) blocked.push(peer.address);
      continue;
    }
    const s = shaped.get(peer.address) ?? { address: peer.address };
    if (c.kind === 'delay') {
      s.delayMs = c.delayMs;
      s.jitterMs = c.jitterMs !== undefined && c.jitterMs > 0 ? c.jitterMs : undefined;
    } else if (c.kind === 'loss') s.lossPercent = c.percent;
    else s.kbitPerSecond = c.kbitPerSecond;
    shaped.set(peer.address, s);
  }
  return { blocked, shaped: [...shaped.values()] };
}

const num = (n: number): string => String(Number(n.toFixed(3)));

/**
 * The `sh` script that puts `setting` in force on a node, replacing whatever nxc had put there
 * before (routes with protocol 208, the root qdisc with handle 208:). Exit 3 with a line
 * `NXC_NET_MISSING <what>` when a tool or a kernel feature is missing, 4 with
 * `NXC_NET_FAILED <what>` on another failure.
 */
export function guestNetScript(setting: GuestNetSetting): string {
  const m = NXC_NET_MARK;
  const lines = [
    'PATH=/run/current-system/sw/bin:$PATH',
    'missing() { echo "NXC_NET_MISSING $1" >&2; exit 3; }',
    'failed() { echo "NXC_NET_FAILED $1" >&2; exit 4; }',
    'command -v ip >/dev/null 2>&1 || missing "the ip command (iproute2)"',
    // what nxc put in force before
    `ip route flush proto ${m} 2>/dev/null || true`,
    'if command -v tc >/dev/null 2>&1; then',
    '  for d in $(ls /sys/class/net); do',
    `    if tc qdisc show dev "$d" 2>/dev/null | grep -q '^qdisc htb ${m}: root'; then tc qdisc del dev "$d" root || failed "tc qdisc del dev $d root"; fi`,
    '  done',
    'fi',
  ];
  if (setting.shaped.length > 0) {
    lines.push(
      'command -v tc >/dev/null 2>&1 || missing "the tc command (iproute2)"',
      'if command -v modprobe >/dev/null 2>&1; then for k in sch_htb sch_netem cls_u32; do modprobe -q "$k" 2>/dev/null; done; fi',
      // tc KIND ARGS...: on failure, name the kernel module behind KIND when the kernel does not know it
      't() { kind=$1; shift; if ! out=$(tc "$@" 2>&1); then',
      '    case "$out" in *nknown*|*"not found"*|*"No such file"*|*"Operation not supported"*) missing "the kernel module $kind|tc: $(echo "$out" | head -n 1)" ;; esac',
      '    failed "tc $*: $(echo "$out" | head -n 1)"; fi; }',
      'devs=""',
    );
    setting.shaped.forEach((s, i) => {
      const cls = (0x10 + i).toString(16);
      const addr = shellQuote(s.address);
      // no rate asked: a class fast enough never to hold packets (an explicit burst: tc's
      // default one rounds to 0 at such rates)
      const rate =
        s.kbitPerSecond !== undefined
          ? `${num(s.kbitPerSecond)}kbit ceil ${num(s.kbitPerSecond)}kbit`
          : '10gbit ceil 10gbit burst 1mb cburst 1mb quantum 60000';
      const netem: string[] = [];
      if (s.delayMs !== undefined) {
        netem.push('delay', `${num(s.delayMs)}ms`);
        if (s.jitterMs !== undefined) netem.push(`${num(s.jitterMs)}ms`);
      }
      if (s.lossPercent !== undefined) netem.push('loss', `${num(s.lossPercent)}%`);
      lines.push(
        `d=$(ip -o route get ${addr} 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -n 1)`,
        `[ -n "$d" ] || failed "no route to ${s.address}"`,
        'case " $devs " in *" $d "*) ;; *)',
        // default 0: what no filter selects is sent directly, unshaped
        `  t sch_htb qdisc add dev "$d" root handle ${m}: htb default 0`,
        '  devs="$devs $d" ;; esac',
        `t sch_htb class add dev "$d" parent ${m}: classid ${m}:${cls} htb rate ${rate}`,
        ...(netem.length > 0
          ? [`t sch_netem qdisc add dev "$d" parent ${m}:${cls} handle ${cls}: netem ${netem.join(' ')}`]
          : []),
        `t cls_u32 filter add dev "$d" parent ${m}: protocol ip prio 1 u32 match ip dst ${addr}/32 flowid ${m}:${cls}`,
      );
    });
  }
  for (const address of setting.blocked) {
    lines.push(
      `ip route add prohibit ${shellQuote(`${address}/32`)} proto ${m} 2>/dev/null || failed "ip route add prohibit ${address}"`,
    );
  }
  lines.push('exit 0');
  return `${lines.join('\n')}\n`;
}

/**
 * The `sh` script that prints what nxc has in force on a node: its routes with protocol 208
 * (`R <route>`), and per device with nxc's root qdisc, its htb classes (`C <dev> <class>`) and
 * netem qdiscs (`N <dev> <qdisc>`). Changes nothing.
 */
export function guestInspectScript(): string {
  const m = NXC_NET_MARK;
  return `${[
    'PATH=/run/current-system/sw/bin:$PATH',
    `ip route show proto ${m} 2>/dev/null | sed 's/^/R /'`,
    'if command -v tc >/dev/null 2>&1; then',
    '  for d in $(ls /sys/class/net); do',
    `    if tc qdisc show dev "$d" 2>/dev/null | grep -q '^qdisc htb ${m}: root'; then`,
    `      tc class show dev "$d" 2>/dev/null | grep '^class htb ${m}:' | sed "s/^/C $d /"`,
    `      tc qdisc show dev "$d" 2>/dev/null | grep '^qdisc netem .* parent ${m}:' | sed "s/^/N $d /"`,
    '    fi',
    '  done',
    'fi',
    'exit 0',
  ].join('\n')}\n`;
}

/**
 * Compares what {@link guestInspectScript} printed on a node with the setting it must have;
 * returns one line per difference (none: in force). `names` maps peer addresses to hostnames.
 */
export function guestSettingDiff(
  setting: GuestNetSetting,
  printed: string,
  names: Map<string, string> = new Map(),
): string[] {
  const name = (address: string) => (names.has(address) ? `${names.get(address)} (${address})` : address);
  const lines = printed.split('\n');
  const routes = new Set(
    lines
      .map((l) => /^R prohibit (\S+)/.exec(l)?.[1]?.replace(/\/32$/, ''))
      .filter((a): a is string => a !== undefined),
  );
  const problems: string[] = [];
  for (const address of setting.blocked) {
    if (!routes.has(address))
      problems.push(`partition from ${name(address)} not in force (no prohibit route)`);
  }
  for (const address of routes) {
    if (!setting.blocked.includes(address))
      problems.push(`a prohibit route to ${name(address)} nxc does not list`);
  }
  const classes = lines.filter((l) => l.startsWith('C ')).length;
  const netems = lines.filter((l) => l.startsWith('N ')).length;
  const wantNetem = setting.shaped.filter(
    (s) => s.delayMs !== undefined || s.lossPercent !== undefined,
  ).length;
  if (classes !== setting.shaped.length || netems !== wantNetem) {
    const peers = setting.shaped.map((s) => name(s.address)).join(', ');
    problems.push(
      setting.shaped.length === 0
        ? 'shaping in force that nxc does not list'
        : classes === 0
          ? `shaping towards ${peers} not in force (no tc tree)`
          : `shaping towards ${peers} not as asked (${classes} shaped peers, ${netems} netem qdiscs on the node; ${setting.shaped.length} and ${wantNetem} asked)`,
    );
  }
  return problems;
}

const key = (c: NetworkCondition) => `${c.kind}\0${[c.a.host, c.b.host].sort().join('\0')}`;

/**
 * A {@link NetworkControl} that applies the conditions inside the nodes over a transport
 * opened by `openTransport` for each call and closed after it (a root shell on each node: SSH
 * to QEMU guests, Grid'5000 nodes). `where` names the nodes in errors (e.g. "VM").
 */
export function guestNetwork(openTransport: () => Promise<Transport>, where = 'node'): NetworkControl {
  let transport: Transport;
  const put = async (host: string, conditions: NetworkCondition[]): Promise<void> => {
    const script = guestNetScript(guestSetting(host, conditions));
    let r: Awaited<ReturnType<Transport['exec']>>;
    try {
      r = await transport.exec(host, script, { timeoutMs: 60_000 });
    } catch (error) {
      throw new NxcError(
        'NXC_FLAVOUR_UNUSABLE',
        `cannot change the network settings of ${where} ${host}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        { hint: 'check that the node is up (`nxc status`)', exitCode: 3, cause: error },
      );
    }
    if (r.exitCode === 0) return;
    const text = `${r.stderr}\n${r.stdout}`;
    const missing = /NXC_NET_MISSING ([^|\n]*)(?:\|(.*))?/.exec(text);
    if (missing) {
      const why = missing[2] ? ` (${missing[2]})` : '';
      throw new NxcError('NXC_FLAVOUR_UNUSABLE', `${missing[1]} is missing on ${where} ${host}${why}`, {
        hint: 'see docs/network.md: the node needs iproute2 and the kernel modules sch_htb, sch_netem and cls_u32',
        exitCode: 3,
      });
    }
    const failed =
      /NXC_NET_FAILED (.*)/.exec(text)?.[1] ?? (text.trim().split('\n')[0] || `exit ${r.exitCode}`);
    throw new NxcError(
      'NXC_FLAVOUR_UNUSABLE',
      `cannot change the network settings of ${where} ${host}: ${failed}`,
      {
        hint: 'see docs/network.md',
        exitCode: 3,
      },
    );
  };
  const hostsOf = (conditions: NetworkCondition[]): string[] => [
    ...new Set(conditions.flatMap((c) => [c.a.host, c.b.host])),
  ];
  /** Puts `after` in force on the hosts of `changed`; on failure, `before` on those done. */
  const change = async (
    changed: NetworkCondition[],
    after: NetworkCondition[],
    before: NetworkCondition[],
  ) => {
    const done: string[] = [];
    transport = await openTransport();
    try {
      for (const host of hostsOf(changed)) {
        done.push(host);
        await put(host, after);
      }
    } catch (error) {
      for (const host of done.reverse()) await put(host, before).catch(() => undefined);
      throw error;
    } finally {
      await transport.close();
    }
  };
  return {
    async restore(hosts, inForce) {
      transport = await openTransport();
      try {
        for (const host of hosts) await put(host, inForce);
      } finally {
        await transport.close();
      }
    },
    async inspect(hosts, inForce) {
      const names = new Map(
        inForce.flatMap(
          (c) =>
            [
              [c.a.address, c.a.host],
              [c.b.address, c.b.host],
            ] as const,
        ),
      );
      const out: Record<string, string[]> = {};
      const t = await openTransport();
      try {
        await Promise.all(
          hosts.map(async (host) => {
            try {
              const r = await t.exec(host, guestInspectScript(), { timeoutMs: 60_000 });
              out[host] =
                r.exitCode === 0
                  ? guestSettingDiff(guestSetting(host, inForce), r.stdout, names)
                  : [
                      `cannot read its network settings: ${(r.stderr.trim().split('\n')[0] ?? '') || `exit ${r.exitCode}`}`,
                    ];
            } catch (error) {
              out[host] = [
                `cannot read its network settings: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`,
              ];
            }
          }),
        );
      } finally {
        await t.close();
      }
      return out;
    },
    async apply(conditions, inForce) {
      const after = inForce ?? conditions;
      const added = new Set(conditions.map(key));
      await change(
        conditions,
        after,
        after.filter((c) => !added.has(key(c))),
      );
    },
    async clear(conditions, inForce) {
      const after = inForce ?? [];
      await change(conditions, after, [...after, ...conditions]);
    },
  };
}
