#!/usr/bin/env node
// @ts-check
// An nxc experiment: the demo composition's clients fetch the server's page N times each; the
// counts, each node's identity file and the deployment record land in a results folder.
// See README.md. Run `node experiment.mjs --help`.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isNxcError } from '@nxc/core';
import { experiment } from '@nxc/experiment';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The experiment, as options of `experiment()`: a script (or a test) may change them before
 * running it (e.g. give `oar.runner` to run OAR commands elsewhere).
 * @param {{ project?: string, flavour?: string, results?: string, clients?: number,
 *   requests?: number, machineFile?: string, oarJob?: string, nodes?: number,
 *   walltime?: string, build?: boolean, keep?: boolean, signal?: AbortSignal,
 *   reporter?: import('@nxc/core').Reporter }} args
 * @returns {import('@nxc/experiment').ExperimentOptions}
 */
export function demoExperiment(args = {}) {
  const clients = args.clients ?? 2;
  const requests = args.requests ?? 10;
  if (!Number.isInteger(requests) || requests < 1) throw new Error('requests must be a positive integer');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  return {
    name: `demo-fetch-${requests}`,
    project: args.project ?? path.join(here, '..', 'demo'),
    flavour: args.flavour ?? 'docker',
    results: args.results ?? path.join('results', stamp),
    build: args.build ?? true,
    start: {
      roleFlags: [`client=${clients}`],
      // recorded in the deployment record, and readable on every node in /etc/nxc/node.json
      parameters: { requests },
      ...(args.machineFile ? { machineFile: args.machineFile } : {}),
    },
    ...(args.oarJob
      ? {
          oar: {
            name: args.oarJob,
            nodes: args.nodes ?? clients + 1,
            ...(args.walltime ? { walltime: args.walltime } : {}),
          },
        }
      : {}),
    keep: args.keep ?? false,
    steps: [
      {
        // the test-script driver's machine API, from a step
        name: 'server-up',
        call: async ({ machines }) => {
          await machines.node('server').waitForOpenPort(80, { timeout: 120 });
        },
      },
      {
        name: 'fetch',
        on: '@client',
        run: [
          'ok=0; n=0',
          `while [ $n -lt ${requests} ]; do n=$((n+1)); wget -qO- http://server/ >/dev/null && ok=$((ok+1)); done`,
          `printf 'host=%s\\nrequests=%s\\nok=%s\\n' "$(hostname)" ${requests} "$ok" > /tmp/fetch.txt`,
          'cat /tmp/fetch.txt',
          `[ "$ok" -eq ${requests} ]`,
        ].join('\n'),
      },
      { name: 'counts', from: '@client', collect: '/tmp/fetch.txt' },
      // each node's identity (role, indexes, uuid, parameters), even after a failure
      { name: 'identity', from: 'all', collect: '/etc/nxc/node.json', always: true },
    ],
    ...(args.signal ? { signal: args.signal } : {}),
    ...(args.reporter ? { reporter: args.reporter } : {}),
  };
}

const HELP = `usage: node experiment.mjs [options]

  -f, --flavour NAME      flavour (default docker; g5k-ramdisk on Grid'5000)
  -m, --machine-file FILE machines to deploy onto (Grid'5000: $OAR_NODEFILE)
      --oar-job NAME      Grid'5000: reuse your running OAR job NAME, else reserve it
      --nodes N           machines to reserve with --oar-job (default clients + 1)
      --walltime W        walltime of a reserved job (default 1:00)
  -c, --clients N         client nodes (default 2)
  -n, --requests N        requests per client (default 10)
      --project DIR       the nxc project (default: ../demo)
      --results DIR       results folder, new or empty (default results/<UTC time>)
      --no-build          use the existing build
      --keep              leave the deployment (and the OAR job) running
`;

async function main() {
  const { values } = parseArgs({
    options: {
      flavour: { type: 'string', short: 'f' },
      'machine-file': { type: 'string', short: 'm' },
      'oar-job': { type: 'string' },
      nodes: { type: 'string' },
      walltime: { type: 'string' },
      clients: { type: 'string', short: 'c' },
      requests: { type: 'string', short: 'n' },
      project: { type: 'string' },
      results: { type: 'string' },
      'no-build': { type: 'boolean' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const int = (/** @type {string | undefined} */ v, /** @type {string} */ flag) => {
    if (v === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(v))
      throw Object.assign(new Error(`${flag} ${v} is not a positive integer`), { exitCode: 2 });
    return Number(v);
  };
  const controller = new AbortController();
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping the deployment...\n`);
      controller.abort();
    });
  }
  const options = demoExperiment({
    ...(values.project ? { project: values.project } : {}),
    ...(values.flavour ? { flavour: values.flavour } : {}),
    ...(values.results ? { results: values.results } : {}),
    ...(values['machine-file'] ? { machineFile: values['machine-file'] } : {}),
    ...(values['oar-job'] ? { oarJob: values['oar-job'] } : {}),
    ...(values.walltime ? { walltime: values.walltime } : {}),
    clients: int(values.clients, '--clients'),
    requests: int(values.requests, '--requests'),
    nodes: int(values.nodes, '--nodes'),
    build: !values['no-build'],
    keep: values.keep ?? false,
    signal: controller.signal,
    reporter: {
      emit(e) {
        if (e.type === 'step' || e.type === 'done') process.stderr.write(`${e.message}\n`);
        else if (e.type === 'warn') process.stderr.write(`warning: ${e.message}\n`);
      },
    },
  });
  const { dir, manifest } = await experiment(options);
  process.stdout.write(
    `${JSON.stringify({ results: dir, outcome: manifest.outcome, files: manifest.files })}\n`,
  );
}

// run when executed (not when imported by another script or a test)
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((/** @type {unknown} */ error) => {
    const e = /** @type {{ message?: string, hint?: string, exitCode?: number }} */ (error);
    process.stderr.write(`error: ${String(e?.message ?? error).split('\n')[0]}\n`);
    if (e?.hint) process.stderr.write(`hint: ${e.hint}\n`);
    process.exitCode = isNxcError(error)
      ? (e.exitCode ?? 1)
      : typeof e?.exitCode === 'number'
        ? e.exitCode
        : 1;
  });
}
