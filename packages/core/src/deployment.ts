/**
 * Deployment: which node runs which role, where. Written at start to
 * deploy/<composition>::<flavour>.json and read by every node at boot, either from that
 * file (docker mounts it) or from the kernel command line (`deploy=`), where space is
 * short: `encodeDeploymentForKernel` makes the compact form and says whether it fits.
 */
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { z } from 'zod';
import { writeJsonAtomic } from './atomic-file.js';
import type { ComposeInfo } from './compose-info.js';
import { NxcError } from './errors.js';
import { nodeCrypto, nodeZlib } from './lazy-builtins.js';
import { lazy } from './lazy.js';
import { routeParameters } from './node-parameters.js';
import type { Project } from './project.js';
import { deploymentKey, deploymentPath } from './state.js';
import { displayPath, errnoCode, firstLine, formatZodError } from './validation.js';

/** A node to run, from the role distribution. */
export interface PlannedNode {
  role: string;
  /** Hostname (see role-distribution.ts for the naming rules). */
  host: string;
}

/** A node with the address the flavour gave it. */
export interface DeployedNode extends PlannedNode {
  /** Address the node has and finds itself by (IP, or hostname when the platform has no fixed IP). */
  address: string;
  /** Store path of the role's init (filled from the compose info when omitted). */
  init?: string;
  /**
   * Device path of each of the node's disks in the node, by disk id, for flavours that do not
   * attach them as virtio disks (default `/dev/disk/by-id/virtio-<id>`), e.g. the Grid'5000
   * flavours' `/dev/disk/by-nxc/<id>`.
   */
  diskDevices?: Record<string, string>;
  /**
   * Where each of the node's disks is on its machine, by disk id, for flavours whose nodes
   * learn it from the deployment document (g5k-image: the reserved disk's
   * `/dev/disk/by-path/...` name); recorded as the disk's `path`.
   */
  diskPaths?: Record<string, string>;
}

/**
 * A node's entry in the deployment document. `role`, `host` and `init` are the original nxc's;
 * the identity fields are ours and absent from documents the original wrote (see
 * {@link nodeIdentities} for what a reader assumes then).
 */
export interface DeploymentEntry {
  role: string;
  host: string;
  init?: string;
  /** 1-based rank of the node within its role (client2 -> 2; a single-node role -> 1). */
  index?: number;
  /** 0-based rank of the node in the deployment (its position in the document). */
  globalIndex?: number;
  /** Random UUID (v4) of the node in this deployment; kept when the deployment is redone. */
  uuid?: string;
  /** This node's own parameter values (its role's, then its own), over the global `parameters`. */
  parameters?: Record<string, unknown>;
  /** The block devices the node has (its role's `nxc.disks`); absent when none. */
  disks?: NodeDisk[];
}

/** One block device of a node (declared by its role's `nxc.disks`). */
export interface NodeDisk {
  /** Id, unique in the role. */
  id: string;
  /** Size as declared, e.g. `4G`. */
  size: string;
  /** Size in bytes. */
  bytes: number;
  /** Device path in the node: `/dev/disk/by-id/virtio-<id>` on the QEMU flavours, `/dev/disk/by-nxc/<id>` on Grid'5000. */
  device: string;
  /**
   * Where the disk is on the machine, when the node learns it from the document (g5k-image:
   * the reserved disk's `/dev/disk/by-path/...` name, which the boot script links
   * `device` to); absent otherwise.
   */
  path?: string;
}

/**
 * The document nodes read, in the original nxc's field names:
 * `{"deployment": {ADDRESS: {role, host, init}}, "ssh_key.pub", "composition", "all", "user", "parameters"}`
 * plus `flavour` and the per-node identity ({@link DeploymentEntry}). `parameters` holds the
 * global parameters only; per-role and per-node values are in the entries.
 */
export interface DeploymentDocument {
  deployment: Record<string, DeploymentEntry>;
  'ssh_key.pub': string;
  composition: string;
  flavour: string;
  all?: Record<string, string>;
  user: string;
  parameters?: Record<string, unknown>;
}

/** A node's block device as the deployment document and the record keep it ({@link NodeDisk}). */
export const nodeDiskSchema = lazy(() =>
  z.object({
    id: z.string().min(1),
    size: z.string().min(1),
    bytes: z.number().int().positive(),
    device: z.string().min(1),
    path: z.string().min(1).optional(),
  }),
);

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Schema of the document. Reading is lenient with what the original nxc wrote (no `flavour`,
 * maybe no `composition`; extra keys such as `vm_id` or `compositions_info_path` are kept).
 */
const documentSchema = lazy(() =>
  z
    .object({
      deployment: z.record(
        z
          .object({
            role: z.string().min(1),
            host: z.string().min(1),
            init: z.string().optional(),
            index: z.number().int().positive().optional(),
            globalIndex: z.number().int().nonnegative().optional(),
            uuid: z.string().regex(UUID_PATTERN, 'expected a UUID').optional(),
            parameters: z.record(z.unknown()).optional(),
            disks: z.array(nodeDiskSchema()).optional(),
          })
          .passthrough(),
      ),
      'ssh_key.pub': z.string(),
      composition: z.string().default('composition'),
      flavour: z.string().default(''),
      all: z.record(z.string()).optional(),
      user: z.string().default(''),
      parameters: z.record(z.unknown()).optional(),
    })
    .passthrough(),
);

function validate(
  data: unknown,
  where: string,
  code: 'NXC_DEPLOYMENT' | 'NXC_USAGE',
  hint: string,
): DeploymentDocument {
  const result = documentSchema().safeParse(data);
  if (!result.success) throw new NxcError(code, `${where}: ${formatZodError(result.error)}`, { hint });
  return result.data as DeploymentDocument;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/** Input of {@link buildDeploymentDocument}. */
export interface BuildDeploymentInput {
  composeInfo: ComposeInfo;
  /** Nodes with their addresses (unique), in the order they should be listed. */
  nodes: DeployedNode[];
  /** Public key line every node authorizes for root. */
  sshPublicKey: string;
  /** User name recorded for the nodes (G5K NFS paths); default: the current user. */
  user?: string;
  /**
   * User parameters (`-p/-P`) as given: `key`, `role.key`, `host.key` (routed by
   * {@link routeParameters}: the document keeps the global ones in `parameters`, and each
   * node's own values in its entry).
   */
  parameters?: Record<string, unknown>;
  /**
   * Known node UUIDs by hostname (a redeployment, a replay): used for those nodes instead of
   * new random ones. Hosts not in `nodes` are ignored.
   */
  uuids?: Record<string, string>;
}

/**
 * Builds the deployment document: nodes keyed by address in the order given, each with its
 * role, hostname, the role's init from the compose info (unless the node brings its own),
 * its index within its role (1-based, by order among that role's nodes: with the role
 * distribution's order, client2 is 2), its global index (0-based position), a UUID (given in
 * `uuids`, else random v4) and its own parameters.
 *
 * @throws NxcError `NXC_DEPLOYMENT` when two nodes share an address or a node's role is not
 *   in the compose info; `NXC_USAGE` for a given UUID that is not one, or a parameter
 *   {@link routeParameters} refuses.
 */
export function buildDeploymentDocument(input: BuildDeploymentInput): DeploymentDocument {
  const { composeInfo, nodes } = input;
  const deployment: DeploymentDocument['deployment'] = {};
  const routed = input.parameters === undefined ? undefined : routeParameters(input.parameters, nodes);
  const perRole = new Map<string, number>();
  for (const [globalIndex, node] of nodes.entries()) {
    const existing = deployment[node.address];
    if (existing) {
      throw new NxcError(
        'NXC_DEPLOYMENT',
        `nodes "${existing.host}" and "${node.host}" have the same address ${node.address}`,
        { hint: 'give every node its own machine/address (check the machine file for aliases of one host)' },
      );
    }
    const init = node.init ?? composeInfo.roles[node.role]?.init;
    if (init === undefined) {
      throw new NxcError(
        'NXC_DEPLOYMENT',
        `node "${node.host}": role "${node.role}" is not in ${displayPath(composeInfo.source)} (roles: ${Object.keys(composeInfo.roles).join(', ')})`,
        { hint: 'rebuild with `nxc build`, or use one of the built roles' },
      );
    }
    const index = (perRole.get(node.role) ?? 0) + 1;
    perRole.set(node.role, index);
    const own = routed?.byHost[node.host];
    const disks = (composeInfo.roles[node.role]?.disks ?? []).map((d) => ({
      id: d.id,
      size: d.size,
      bytes: d.bytes,
      device: node.diskDevices?.[d.id] ?? `/dev/disk/by-id/virtio-${d.id}`,
      ...(node.diskPaths?.[d.id] ? { path: node.diskPaths[d.id] } : {}),
    }));
    deployment[node.address] = {
      role: node.role,
      host: node.host,
      init,
      index,
      globalIndex,
      uuid: knownUuid(input.uuids, node.host) ?? nodeCrypto().randomUUID(),
      ...(own ? { parameters: own } : {}),
      ...(disks.length > 0 ? { disks } : {}),
    };
  }
  return {
    deployment,
    'ssh_key.pub': input.sshPublicKey.trim(),
    composition: composeInfo.composition,
    flavour: composeInfo.flavour.name,
    all: { ...composeInfo.all },
    user: input.user ?? currentUser(),
    ...(routed === undefined ? {} : { parameters: routed.global }),
  };
}

function knownUuid(uuids: Record<string, string> | undefined, host: string): string | undefined {
  if (!uuids || !Object.hasOwn(uuids, host)) return undefined;
  const uuid = uuids[host]!;
  if (!UUID_PATTERN.test(uuid)) {
    throw new NxcError('NXC_USAGE', `node "${host}": "${uuid}" is not a UUID`, {
      hint: 'give UUIDs as 8-4-4-4-12 hexadecimal digits, as a previous deployment document has them',
      exitCode: 2,
    });
  }
  return uuid.toLowerCase();
}

/** A node of a deployment as it knows itself: see {@link nodeIdentities}. */
export interface NodeIdentity {
  address: string;
  role: string;
  host: string;
  /** 1-based rank within the role. */
  index: number;
  /** 0-based rank in the deployment. */
  globalIndex: number;
  /** Absent for a document written without one (the original nxc's). */
  uuid?: string;
  /** Resolved parameters: the global ones, overridden by the node's own. */
  parameters: Record<string, unknown>;
  /** The node's block devices (its role's `nxc.disks`), `[]` when none. */
  disks: NodeDisk[];
}

/**
 * Every node of a document with its identity, in document order. For a document written
 * without identity fields (the original nxc's), the indexes are those positions (as
 * {@link buildDeploymentDocument} assigns them) and there is no UUID.
 */
export function nodeIdentities(doc: DeploymentDocument): NodeIdentity[] {
  const perRole = new Map<string, number>();
  return Object.entries(doc.deployment).map(([address, entry], position) => {
    const rank = (perRole.get(entry.role) ?? 0) + 1;
    perRole.set(entry.role, rank);
    return {
      address,
      role: entry.role,
      host: entry.host,
      index: entry.index ?? rank,
      globalIndex: entry.globalIndex ?? position,
      ...(entry.uuid === undefined ? {} : { uuid: entry.uuid }),
      parameters: { ...doc.parameters, ...entry.parameters },
      disks: entry.disks ?? [],
    };
  });
}

/**
 * Writes `deploy/<composition>::<flavour>.json` atomically (written beside, flushed, renamed:
 * a node or a concurrent reader never sees half a document, nor does a crash leave one).
 * Returns its path.
 */
export async function writeDeploymentDocument(
  project: Project,
  composition: string,
  flavour: string,
  doc: DeploymentDocument,
): Promise<string> {
  const path = deploymentPath(project, composition, flavour);
  const checked = validate(
    doc,
    deploymentKey(composition, flavour),
    'NXC_DEPLOYMENT',
    'this is a bug in the caller',
  );
  try {
    // 0600: it carries the -p parameters; nodes get it from nxc (mount, served copy), not by mode
    await writeJsonAtomic(path, checked, { mode: 0o600 });
  } catch (error) {
    throw new NxcError(
      'NXC_IO',
      `cannot write ${displayPath(path)} (${errnoCode(error) ?? firstLine(error)})`,
      {
        hint: 'check that the project directory is writable',
        cause: error,
      },
    );
  }
  return path;
}

/**
 * Reads and validates the deployment document of `composition::flavour`.
 *
 * @throws NxcError `NXC_DEPLOYMENT` when there is none (hint: `nxc start`) or it is malformed.
 */
export async function readDeploymentDocument(
  project: Project,
  composition: string,
  flavour: string,
): Promise<DeploymentDocument> {
  const path = deploymentPath(project, composition, flavour);
  const where = displayPath(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') {
      throw new NxcError(
        'NXC_DEPLOYMENT',
        `no deployment of ${deploymentKey(composition, flavour)} (${where} does not exist)`,
        {
          hint: `start one with \`nxc start -C ${deploymentKey(composition, flavour)}\``,
        },
      );
    }
    throw new NxcError('NXC_DEPLOYMENT', `cannot read ${where} (${errnoCode(error) ?? firstLine(error)})`, {
      hint: 'check the file permissions',
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new NxcError('NXC_DEPLOYMENT', `${where}: not valid JSON (${firstLine(error)})`, {
      hint: 'stop the deployment (`nxc stop`) and start it again',
    });
  }
  return validate(data, where, 'NXC_DEPLOYMENT', 'stop the deployment (`nxc stop`) and start it again');
}

/** Options of {@link encodeDeploymentForKernel}. */
export interface KernelEncodingOptions {
  /**
   * Bytes available for the whole `deploy=...` parameter. Default 1536: the 2048-byte x86
   * command line minus 512 for the other parameters (console=, init=, nfs_store=, -k).
   */
  budget?: number;
}

/** Default budget for `deploy=...` on the kernel command line, see {@link KernelEncodingOptions}. */
export const DEFAULT_KERNEL_DEPLOY_BUDGET = 2048 - 512;

/**
 * Encodes the document for the kernel command line as `gz:<base64(gzip(minified JSON))>`,
 * leaving out `all`, the per-node `init` (all-in-one images know each role's init) and the
 * per-node `disks`, except those of a node that learns where its disks are from the document
 * (a disk with a `path`: g5k-image, whose one command line serves every node). The
 * identity fields stay: a UUID costs about 25 bytes per node (random, it does not compress).
 * `length` is the length of the whole `deploy=<value>` parameter; `fits` says whether it is
 * within the budget. When it does not fit, serve the full document over HTTP instead.
 */
export function encodeDeploymentForKernel(
  doc: DeploymentDocument,
  opts: KernelEncodingOptions = {},
): { value: string; fits: boolean; length: number } {
  const budget = opts.budget ?? DEFAULT_KERNEL_DEPLOY_BUDGET;
  const deployment: Record<string, DeploymentEntry> = {};
  for (const [address, node] of Object.entries(doc.deployment)) {
    deployment[address] = {
      role: node.role,
      host: node.host,
      ...(node.index === undefined ? {} : { index: node.index }),
      ...(node.globalIndex === undefined ? {} : { globalIndex: node.globalIndex }),
      ...(node.uuid === undefined ? {} : { uuid: node.uuid }),
      ...(node.parameters === undefined ? {} : { parameters: node.parameters }),
      ...(node.disks?.some((d) => d.path !== undefined) ? { disks: node.disks } : {}),
    };
  }
  const compact: Omit<DeploymentDocument, 'all'> = {
    deployment,
    'ssh_key.pub': doc['ssh_key.pub'],
    composition: doc.composition,
    flavour: doc.flavour,
    user: doc.user,
    ...(doc.parameters === undefined ? {} : { parameters: doc.parameters }),
  };
  const value = `gz:${nodeZlib().gzipSync(JSON.stringify(compact), { level: 9 }).toString('base64')}`;
  const length = 'deploy='.length + value.length;
  return { value, fits: length <= budget, length };
}

/** Kernel parameter naming the SHA-256 of a deployment served over HTTP (checked by the boot script). */
export const DEPLOY_DIGEST_PARAM = 'deploy_sha256';

/**
 * The exact bytes a flavour serves for `deploy=http(s)://…` and their SHA-256 (hex), which
 * the node gets next to the URL as `deploy_sha256=<hex>` ({@link DEPLOY_DIGEST_PARAM}). Nodes
 * refuse a downloaded document whose digest differs, so a neighbour on a shared network who
 * answers in the server's place (ARP or DNS spoofing) cannot hand nodes its own key.
 */
export function deploymentBody(doc: DeploymentDocument): { body: Buffer; sha256: string } {
  const body = Buffer.from(`${JSON.stringify(doc)}\n`);
  return { body, sha256: nodeCrypto().createHash('sha256').update(body).digest('hex') };
}

/**
 * Decodes a `deploy=` value as the boot script does: `gz:<base64 gzip JSON>` (ours) or
 * `<base64 JSON>` (the original nxc's). A leading `deploy=` is accepted. URLs are refused:
 * the caller fetches them and validates the body.
 *
 * @throws NxcError `NXC_USAGE` for an URL or a value that is neither form.
 */
export function decodeDeploymentParam(value: string): DeploymentDocument {
  const raw = value.trim().replace(/^deploy=/, '');
  if (/^https?:\/\//i.test(raw)) {
    throw new NxcError('NXC_USAGE', `deploy=${raw} is an URL: the document is served over HTTP, not inline`, {
      hint: 'fetch the URL and validate the body (nodes do it at boot)',
    });
  }
  const what = raw.startsWith('gz:') ? 'gz:' : 'base64';
  let json: string;
  try {
    if (raw.startsWith('gz:')) {
      json = nodeZlib()
        .gunzipSync(Buffer.from(raw.slice(3), 'base64'))
        .toString('utf8');
    } else {
      if (!/^[A-Za-z0-9+/=\s]+$/.test(raw)) throw new Error('not base64');
      json = Buffer.from(raw, 'base64').toString('utf8');
    }
    return validate(JSON.parse(json), `deploy= (${what})`, 'NXC_USAGE', 'pass the value nxc start wrote');
  } catch (error) {
    if (error instanceof NxcError) throw error;
    throw new NxcError('NXC_USAGE', `deploy= (${what}): not a deployment (${firstLine(error)})`, {
      hint: 'expected gz:<base64 gzip JSON>, <base64 JSON> or an http(s) URL',
    });
  }
}
