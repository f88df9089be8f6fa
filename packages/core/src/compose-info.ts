/**
 * Compose info: the JSON the build writes (build/<composition>::<flavour>), normalized.
 * Reads our format and the original nxc's two dialects (docker: roles as a list +
 * `docker-compose-file`; all-in-one flavours: `compositions_info` + `all`), so that
 * `nxc start --compose-info FILE` keeps working with files built by the Python nxc.
 */
import { readFile, readlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { z } from 'zod';
import { NxcError } from './errors.js';
import { lazy } from './lazy.js';
import { isSafeName } from './state.js';
import { displayPath, errnoCode, firstLine, formatZodError, jsonSyntaxError } from './validation.js';

/** One role as built. */
export interface RoleBuild {
  /** Store path of the role's init (what a node of this role execs / switches to). */
  init: string;
  /** Store path of the role's system (toplevel) when known. */
  toplevel?: string;
  /** Block devices every node of the role gets (`nxc.disks`), in declaration order; absent when none. */
  disks?: RoleDisk[];
}

/** One declared block device of a role (`nxc.disks`). */
export interface RoleDisk {
  /** Unique in the role; the guest sees it as /dev/disk/by-id/virtio-<id>. */
  id: string;
  /** Size as declared, e.g. `4G`. */
  size: string;
  /** Size in bytes. */
  bytes: number;
}

/** Normalized compose info for ONE composition x flavour. */
export interface ComposeInfo {
  /** Absolute path of the file it was read from. */
  source: string;
  /** Which dialect the file was written in. */
  format: 'nxc' | 'nxc-python-docker' | 'nxc-python-all-in-one';
  composition: string;
  flavour: {
    name: string;
    /** Image kind (docker, ramdisk, vm, remote-store, tarball) when the file says it. */
    image?: string;
    description?: string;
  };
  /** Nix system, e.g. x86_64-linux. */
  system?: string;
  roles: Record<string, RoleBuild>;
  /** The composition's `rolesDistribution` (raw, validated later as a distribution). */
  rolesDistribution?: Record<string, unknown>;
  /** Store path of the test script file, if the composition has one. */
  testScript?: string;
  /**
   * The composition's `network` list: conditions between roles or nodes applied once the
   * nodes are up (raw, checked by start against the deployment; see docs/network.md).
   */
  network?: unknown[];
  /**
   * Shared artifacts: `kernel`, `initrd`, `image`, `qemu_script`, `docker_image`,
   * `docker-compose-file`, `cmdline`, ... (store paths or strings).
   */
  all: Record<string, string>;
  /** Flavour-specific build data (docker: `extraVolumes`, `dockerPorts`). */
  extra: Record<string, unknown>;
}

/** Options of {@link readComposeInfo}. */
export interface ReadComposeInfoOptions {
  /**
   * Composition to select. Required to pick one entry of an original all-in-one file holding
   * several compositions; when given, it must match the file's composition. Default: the
   * file's own (or, for the original docker dialect that does not record it, the part of
   * the file name before `::`, else `composition`).
   */
  composition?: string;
}

/** The schemas of the compose info dialects, built on first use (issue #17). */
const schemas = lazy(() => {
  const storePath = z
    .string({ invalid_type_error: 'expected a /nix/store path' })
    .regex(/^\/nix\/store\/[^/]+/, 'expected a /nix/store path');

  const rolesDistribution = z.record(z.unknown());

  /** Our format (nix/ writes it). Unknown top-level keys are ignored for forward compatibility. */
  const nxcSchema = z.object({
    nxc_compose_info: z.literal(1),
    composition: z.string().min(1),
    flavour: z.object({
      name: z.string().min(1),
      image: z.string().optional(),
      description: z.string().optional(),
    }),
    system: z.string().optional(),
    roles: z.record(
      z.object({
        init: storePath,
        toplevel: storePath.optional(),
        disks: z
          .array(
            z.object({
              id: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'expected 1 to 20 letters, digits, _ or -'),
              size: z.string().min(1),
              bytes: z.number().int().positive(),
            }),
          )
          .optional(),
      }),
    ),
    roles_distribution: rolesDistribution.optional(),
    test_script: storePath.optional(),
    network: z.array(z.unknown()).optional(),
    all: z.record(z.string()).optional(),
    extra: z.record(z.unknown()).optional(),
  });

  /** Original nxc, docker flavour (nix/flavours/docker/generate_docker_compose.nix). */
  const pythonDockerSchema = z.object({
    roles: z.array(z.string().min(1)),
    'docker-compose-file': storePath,
    image: z.string().optional(),
    test_script: storePath.optional(),
    flavour: z.string().min(1),
    roles_distribution: rolesDistribution.optional(),
  });

  /** The docker-compose file the original docker dialect points to: only what we need. */
  const dockerComposeSchema = z.object({
    services: z.record(z.object({ command: z.array(z.string()).min(1) }).passthrough()),
  });

  /** Original nxc, all-in-one flavours (nix/multiple_compositions.nix). */
  const pythonAllInOneSchema = z.object({
    flavour: z.object({
      name: z.string().min(1),
      description: z.string().optional(),
      image: z
        .object({ type: z.string().optional(), distribution: z.string().optional() })
        .passthrough()
        .optional(),
    }),
    system: z.string().optional(),
    compositions_info_path: z.string().optional(),
    compositions_info: z.record(
      z
        .object({
          roles: z.record(z.object({ init: storePath }).passthrough()),
          test_script: storePath.optional(),
          roles_distribution: rolesDistribution.optional(),
        })
        .passthrough(),
    ),
    all: z.record(z.string()),
  });

  return { storePath, nxcSchema, pythonDockerSchema, dockerComposeSchema, pythonAllInOneSchema };
});

function invalid(file: string, message: string): NxcError {
  return new NxcError('NXC_COMPOSE_INFO', `${displayPath(file)}: ${message}`, {
    hint: 'rebuild it with `nxc build -f <flavour>`, or pass a compose info written by nxc with --compose-info',
  });
}

function parseWith<T>(schema: z.ZodType<T>, data: unknown, file: string, prefix = ''): T {
  const result = schema.safeParse(data);
  if (!result.success) throw invalid(file, prefix + formatZodError(result.error));
  return result.data;
}

/** `build/foo::docker` -> `foo`; `compose-info.json` -> undefined. */
function compositionFromFileName(file: string): string | undefined {
  const name = basename(file);
  const at = name.indexOf('::');
  return at > 0 ? name.slice(0, at) : undefined;
}

async function readJson(file: string, whatFor?: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (whatFor !== undefined) {
      throw invalid(whatFor, `cannot read ${file} (${code ?? firstLine(error)})`);
    }
    if (code === 'ENOENT') {
      let target: string | undefined;
      try {
        target = await readlink(file);
      } catch {
        // not a (dangling) symlink: the file itself is missing
      }
      const what =
        target === undefined
          ? `${displayPath(file)} does not exist`
          : `${displayPath(file)} points to ${target}, which no longer exists (garbage-collected?)`;
      throw new NxcError('NXC_COMPOSE_INFO', what, { hint: 'run `nxc build -f <flavour>` first' });
    }
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${displayPath(file)}: cannot read it (${code ?? firstLine(error)})`,
      {
        hint: 'check the file permissions, or rebuild it with `nxc build -f <flavour>`',
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const { at, reason } = jsonSyntaxError(text, error);
    if (whatFor !== undefined) throw invalid(whatFor, `${file}${at} is not valid JSON (${reason})`);
    throw invalid(`${file}${at}`, `not valid JSON (${reason})`);
  }
}

function checkComposition(file: string, wanted: string | undefined, actual: string): void {
  if (wanted !== undefined && wanted !== actual) {
    throw new NxcError(
      'NXC_COMPOSITION_UNKNOWN',
      `${displayPath(file)} holds composition "${actual}", not "${wanted}"`,
      {
        hint: `use -C ${actual}::<flavour>, or build "${wanted}" with \`nxc build -C ${wanted}::<flavour>\``,
      },
    );
  }
}

function fromNxc(file: string, data: unknown, opts: ReadComposeInfoOptions): ComposeInfo {
  const info = parseWith(schemas().nxcSchema, data, file);
  checkComposition(file, opts.composition, info.composition);
  const roles: Record<string, RoleBuild> = {};
  for (const [name, role] of Object.entries(info.roles)) {
    roles[name] = {
      init: role.init,
      ...(role.toplevel === undefined ? {} : { toplevel: role.toplevel }),
      ...(role.disks && role.disks.length > 0 ? { disks: role.disks } : {}),
    };
  }
  return {
    source: file,
    format: 'nxc',
    composition: info.composition,
    flavour: info.flavour,
    ...(info.system === undefined ? {} : { system: info.system }),
    roles,
    ...(info.roles_distribution === undefined ? {} : { rolesDistribution: info.roles_distribution }),
    ...(info.test_script === undefined ? {} : { testScript: info.test_script }),
    ...(info.network === undefined || info.network.length === 0 ? {} : { network: info.network }),
    all: info.all ?? {},
    extra: info.extra ?? {},
  };
}

async function fromPythonDocker(
  file: string,
  data: unknown,
  opts: ReadComposeInfoOptions,
): Promise<ComposeInfo> {
  const info = parseWith(schemas().pythonDockerSchema, data, file);
  const composeFile = info['docker-compose-file'];
  const compose = parseWith(
    schemas().dockerComposeSchema,
    await readJson(composeFile, file),
    file,
    `docker-compose-file ${composeFile}: `,
  );
  const roles: Record<string, RoleBuild> = {};
  for (const role of info.roles) {
    const service = compose.services[role];
    if (service === undefined) {
      throw invalid(file, `roles: role "${role}" has no service in docker-compose-file ${composeFile}`);
    }
    const init = parseWith(
      schemas().storePath,
      service.command[0],
      file,
      `docker-compose-file services.${role}.command[0]: `,
    );
    roles[role] = { init };
  }
  const all: Record<string, string> = { 'docker-compose-file': composeFile };
  if (info.image !== undefined) all.docker_image = info.image;
  return {
    source: file,
    format: 'nxc-python-docker',
    composition: opts.composition ?? compositionFromFileName(file) ?? 'composition',
    flavour: { name: info.flavour, image: 'docker' },
    roles,
    ...(info.roles_distribution === undefined ? {} : { rolesDistribution: info.roles_distribution }),
    ...(info.test_script === undefined ? {} : { testScript: info.test_script }),
    all,
    extra: {},
  };
}

function fromPythonAllInOne(file: string, data: unknown, opts: ReadComposeInfoOptions): ComposeInfo {
  const info = parseWith(schemas().pythonAllInOneSchema, data, file);
  const names = Object.keys(info.compositions_info);
  const list = names.map((n) => `"${n}"`).join(', ');
  let composition = opts.composition;
  if (composition === undefined) {
    if (names.length !== 1) {
      throw new NxcError(
        'NXC_COMPOSITION_UNKNOWN',
        names.length === 0
          ? `${displayPath(file)}: compositions_info is empty`
          : `${displayPath(file)} holds several compositions (${list}): say which one`,
        {
          hint:
            names.length === 0 ? 'rebuild it with `nxc build`' : `use -C <composition>::${info.flavour.name}`,
        },
      );
    }
    composition = names[0]!;
  }
  const entry = info.compositions_info[composition];
  if (entry === undefined) {
    throw new NxcError(
      'NXC_COMPOSITION_UNKNOWN',
      `${displayPath(file)} has no composition "${composition}" (compositions: ${list})`,
      { hint: `use -C <composition>::${info.flavour.name} with one of ${list}` },
    );
  }
  const roles: Record<string, RoleBuild> = {};
  for (const [name, role] of Object.entries(entry.roles)) roles[name] = { init: role.init };
  const image = info.flavour.image?.type ?? (info.flavour.name === 'vm' ? 'vm' : undefined);
  const all: Record<string, string> = { ...info.all };
  if (info.compositions_info_path !== undefined) all.compositions_info_path = info.compositions_info_path;
  return {
    source: file,
    format: 'nxc-python-all-in-one',
    composition,
    flavour: {
      name: info.flavour.name,
      ...(image === undefined ? {} : { image }),
      ...(info.flavour.description === undefined ? {} : { description: info.flavour.description }),
    },
    ...(info.system === undefined ? {} : { system: info.system }),
    roles,
    ...(entry.roles_distribution === undefined ? {} : { rolesDistribution: entry.roles_distribution }),
    ...(entry.test_script === undefined ? {} : { testScript: entry.test_script }),
    all,
    extra: {},
  };
}

/** Composition and role names become file and host names: refuse `../x` and the like here. */
function checkNames(file: string, info: ComposeInfo): ComposeInfo {
  const bad = [
    ...(isSafeName(info.composition) ? [] : [`composition: ${JSON.stringify(info.composition)}`]),
    ...Object.keys(info.roles)
      .filter((role) => !isSafeName(role))
      .map((role) => `roles: ${JSON.stringify(role)}`),
  ][0];
  if (bad) {
    throw new NxcError(
      'NXC_COMPOSE_INFO',
      `${displayPath(file)}: ${bad} is not a usable name (letters, digits and _ . + -, not starting with . or -)`,
      { hint: 'rename it in the composition and rebuild with `nxc build`' },
    );
  }
  return info;
}

/**
 * Reads and validates a compose info file (usually the `build/<composition>::<flavour>`
 * link), in our format or one of the original nxc's dialects, and normalizes it.
 *
 * @throws NxcError `NXC_COMPOSE_INFO` when the file is missing (hint: build first) or
 *   malformed (the message names the file and the field), `NXC_COMPOSITION_UNKNOWN` when
 *   `opts.composition` is not in the file.
 */
export async function readComposeInfo(file: string, opts: ReadComposeInfoOptions = {}): Promise<ComposeInfo> {
  const source = resolve(file);
  const data = await readJson(source);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw invalid(source, 'expected a JSON object');
  }
  if ('nxc_compose_info' in data) {
    const version = (data as { nxc_compose_info: unknown }).nxc_compose_info;
    if (version !== 1) {
      throw new NxcError(
        'NXC_COMPOSE_INFO',
        `${displayPath(source)}: nxc_compose_info: version ${JSON.stringify(version)} is not supported (this nxc reads 1)`,
        { hint: 'rebuild it with this nxc (`nxc build -f <flavour>`), or upgrade nxc' },
      );
    }
    return checkNames(source, await fromNxc(source, data, opts));
  }
  if ('compositions_info' in data) return checkNames(source, await fromPythonAllInOne(source, data, opts));
  if ('docker-compose-file' in data || Array.isArray((data as { roles?: unknown }).roles)) {
    return checkNames(source, await fromPythonDocker(source, data, opts));
  }
  throw invalid(
    source,
    'not a compose info (expected "nxc_compose_info", or the original nxc\'s "compositions_info" or "docker-compose-file")',
  );
}
