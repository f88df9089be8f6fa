// Runs the example experiment (examples/experiment) on the Grid'5000 stand-in, from INSIDE its
// network namespace as a script runs on a frontend:
//   ip netns exec nxcsim node packages/experiment/test/g5k-child.mjs REQUEST.json
// OAR refuses root's jobs: OAR commands run as the stand-in's submitter (su -), through the
// experiment's `oar.runner`. REQUEST: { repo, project, results, jobName, jobUser }.
// Progress goes to stderr; one JSON answer on stdout.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

// a silent end (e.g. exit 13: Node's event loop emptied while a promise was pending) says so
process.on('exit', (code) => process.stderr.write(`g5k-child: exit ${code}\n`));
const req = JSON.parse(await readFile(process.argv[2], 'utf8'));
const { experiment } = await import(join(req.repo, 'packages/experiment/dist/index.js'));
const { shellQuote } = await import(join(req.repo, 'packages/core/dist/flavour.js'));
const { demoExperiment } = await import(join(req.repo, 'examples/experiment/experiment.mjs'));

const runner = (argv) =>
  new Promise((resolve) => {
    execFile('su', ['-', req.jobUser, '-c', argv.map(shellQuote).join(' ')], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ exitCode: code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

const options = demoExperiment({
  project: req.project,
  flavour: 'g5k-ramdisk',
  results: req.results,
  oarJob: req.jobName,
  clients: 1,
  requests: 3,
  build: false,
  reporter: { emit: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) },
});
options.oar = { ...options.oar, walltime: '0:30', runner };
try {
  const { dir, manifest } = await experiment(options);
  process.stdout.write(`${JSON.stringify({ ok: true, dir, manifest })}\n`);
} catch (e) {
  process.stdout.write(
    `${JSON.stringify({ ok: false, error: { code: e?.code, message: e?.message, hint: e?.hint } })}\n`,
  );
  process.exitCode = 1;
}
