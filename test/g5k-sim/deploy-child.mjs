// Runs a flavour's deploy side the way `nxc start` / `nxc exec` / `nxc status` would, from
// INSIDE the stand-in's network namespace (where node-K resolve and route), for the e2e tests:
//   ip netns exec nxcsim node test/g5k-sim/deploy-child.mjs REQUEST.json
// Reporter events go to stderr as JSON lines; the result is one JSON document on stdout.
// REQUEST: { op: "start"|"exec"|"status", repo, plugin (path of the plugin's dist/index.js),
//   flavour, project, composition, composeInfoFile | composeInfo, nodes: [{role, host}],
//   machineFile, waitMachineFile, identity: {privateKeyPath, publicKey}, kernelParams,
//   options, timeoutMs, host, command }
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

const req = JSON.parse(await readFile(process.argv[2], 'utf8'));
// the library verbs and the flavour authoring helpers (two public entries of @nxc/core)
const core = {
  ...(await import(join(req.repo, 'packages/core/dist/index.js'))),
  ...(await import(join(req.repo, 'packages/core/dist/flavour.js'))),
};
const g5k = await import(join(req.repo, 'packages/g5k/dist/index.js'));
const pluginMod = await import(req.plugin);
const plugin = pluginMod.default;
const flavour = plugin.flavours.find((f) => f.name === req.flavour);
const deployer = await flavour.deployer();
const project = core.makeProject(req.project, {
  plugins: [],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
});
const reporter = { emit: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) };
const signal = new AbortController().signal;
const statePath = join(req.project, 'deploy', `${req.composition}::${req.flavour}.state.json`);
const base = { project, composition: req.composition, flavour: req.flavour, reporter, signal };

function out(v) {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

try {
  if (req.op === 'start') {
    const composeInfo = req.composeInfoFile
      ? await core.readComposeInfo(req.composeInfoFile)
      : req.composeInfo;
    let machines;
    if (req.machineList) machines = req.machineList;
    if (req.machineFile)
      machines = (
        await g5k.readMachines({
          machineFile: req.machineFile,
          wait: !!req.waitMachineFile,
          waitTimeoutMs: 120_000,
        })
      ).machines;
    const ctx = {
      ...base,
      composeInfo,
      nodes: req.nodes,
      ...(machines ? { machines } : {}),
      identity: req.identity,
      ...(req.kernelParams ? { kernelParams: req.kernelParams } : {}),
      wait: true,
      timeoutMs: req.timeoutMs ?? 300_000,
      options: req.options ?? {},
      async writeDeployment(nodes) {
        const doc = core.buildDeploymentDocument({
          composeInfo,
          nodes,
          sshPublicKey: req.identity.publicKey,
          user: userInfo().username,
        });
        await core.writeDeploymentDocument(project, req.composition, req.flavour, doc);
        return doc;
      },
      async saveState(state) {
        await mkdir(join(req.project, 'deploy'), { recursive: true });
        await writeFile(statePath, JSON.stringify(state, null, 2));
      },
    };
    out({ ok: true, result: await deployer.start(ctx) });
  } else {
    const deployment = await core.readDeploymentDocument(project, req.composition, req.flavour);
    const state = JSON.parse(await readFile(statePath, 'utf8').catch(() => 'null'));
    const running = { ...base, deployment, state, identity: req.identity };
    if (req.op === 'status') out({ ok: true, result: await deployer.status(running) });
    else if (req.op === 'exec') {
      const t = await deployer.transport(running);
      try {
        const hosts = req.hosts ?? [req.host];
        const results = {};
        for (const h of hosts) results[h] = await t.exec(h, req.command, { timeoutMs: 30_000 });
        out({ ok: true, result: results });
      } finally {
        await t.close();
      }
    } else throw new Error(`unknown op ${req.op}`);
  }
} catch (e) {
  out({
    ok: false,
    error: { name: e?.name, code: e?.code, message: e?.message, hint: e?.hint, stack: e?.stack },
  });
  process.exitCode = 1;
}
