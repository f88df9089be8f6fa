/**
 * The docker-compose file equivalent to a deployment, written under
 * `artifact/<composition>/docker/docker-compose.json` for users who prefer `docker compose`
 * tooling (`docker compose -f … ps`, `logs`). nxc itself drives the Engine API directly.
 * JSON is valid YAML, and the file name matches the original nxc's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeRuntime } from './containers.js';

export const COMPOSE_FILE_NAME = 'docker-compose.json';

export interface ComposeFileInput {
  /** Compose project name (the network name keeps `docker compose` from inventing one). */
  name: string;
  network: { name: string; subnet: string; gateway: string; labels: Record<string, string> };
  volumes: Array<{ name: string; labels: Record<string, string> }>;
  nodes: NodeRuntime[];
}

/** Builds the compose document (pure). Same names and labels as the objects nxc creates. */
export function composeDocument(input: ComposeFileInput): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  for (const rt of input.nodes) {
    services[rt.host] = {
      image: rt.image,
      container_name: rt.name,
      hostname: rt.host,
      command: rt.command,
      init: rt.init,
      ...(rt.hostCgroupns ? { cgroup: 'host' } : {}),
      ...(rt.cgroupParent ? { cgroup_parent: rt.cgroupParent } : {}),
      ...(rt.stopSignal ? { stop_signal: rt.stopSignal } : {}),
      cap_add: rt.capAdd,
      environment: rt.env,
      labels: rt.labels,
      tmpfs: Object.entries(rt.tmpfs).map(([path, opts]) => `${path}:${opts}`),
      volumes: rt.mounts.map((m) => ({
        type: m.kind,
        source: m.source,
        target: m.target,
        read_only: m.readOnly,
        ...(m.createSource ? { bind: { create_host_path: true } } : {}),
      })),
      ports: rt.ports.map((p) => ({
        target: p.containerPort,
        protocol: p.protocol,
        ...(p.hostPort === undefined ? {} : { published: p.hostPort }),
        ...(p.hostIp === undefined ? {} : { host_ip: p.hostIp }),
      })),
      ...(rt.devices.length > 0 ? { devices: rt.devices.map((d) => `${d.host}:${d.container}:rwm`) } : {}),
      networks: { nxc: { aliases: [rt.network.alias], ipv4_address: rt.network.ipv4 } },
    };
  }
  return {
    name: input.name,
    services,
    networks: {
      nxc: {
        name: input.network.name,
        driver: 'bridge',
        ipam: { config: [{ subnet: input.network.subnet, gateway: input.network.gateway }] },
        labels: input.network.labels,
      },
    },
    volumes: Object.fromEntries(input.volumes.map((v) => [v.name, { name: v.name, labels: v.labels }])),
  };
}

/** Writes the compose file into `dir` (created if needed); returns its path. */
export async function writeComposeFile(dir: string, input: ComposeFileInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, COMPOSE_FILE_NAME);
  await writeFile(file, `${JSON.stringify(composeDocument(input), null, 2)}\n`);
  return file;
}
