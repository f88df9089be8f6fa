// Bench helper run INSIDE the stand-in's namespace: one kexecDeploy on the given machines,
// prints the per-node results (timings, bytes) as JSON. argv: REQUEST.json
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const req = JSON.parse(await readFile(process.argv[2], 'utf8'));
const core = await import(join(req.repo, 'packages/core/dist/flavour.js'));
const g5k = await import(join(req.repo, 'packages/g5k/dist/index.js'));
const composeInfo = await core.readComposeInfo(req.composeInfoFile);
const resolved = await g5k.resolveMachines(req.machines);
const targets = resolved.map((m, i) => ({
  machine: m.host,
  address: m.address,
  role: i === 0 ? 'server' : 'client',
  host: i === 0 ? 'server' : `client${i}`,
}));
const r = await g5k.kexecDeploy({
  targets,
  kernel: composeInfo.all.kernel,
  initrd: composeInfo.all.initrd,
  identity: req.identity,
  flavourParams: composeInfo.all.cmdline,
  nodeKeys: req.nodeKeys,
  bootTimeoutMs: 300_000,
  writeDeployment: async (nodes) =>
    core.buildDeploymentDocument({ composeInfo, nodes, sshPublicKey: req.identity.publicKey, user: 'bench' }),
});
process.stdout.write(`${JSON.stringify(r.nodes.map(({ hostKey, ...n }) => n))}\n`);
