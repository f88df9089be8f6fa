/**
 * Starts (without waiting for the guests) and stops one `vm-ramdisk` deployment with the built
 * plugin, in this process: run-folders.test.ts runs it as another user (setpriv) to see what a
 * non-root user meets. Usage: node start-stop.mjs COMPOSE_INFO PROJECT_ROOT; prints one JSON
 * line { start: "ok" | error message, runDir, stop: "ok" | error message }.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, readComposeInfo, silentReporter } from '@nxc/core';
import { buildDeploymentDocument, writeDeploymentDocument } from '@nxc/core/flavour';
import plugin from '../dist/index.js';

const [composeInfoFile, root] = process.argv.slice(2);
const project = makeProject(root, {
  plugins: ['@nxc/flavour-qemu'],
  composition: 'composition.nix',
  nix: { flags: [], overrideInputs: {} },
  flavourOptions: {},
});
const info = await readComposeInfo(composeInfoFile);
const key = join(root, '.nxc/ssh/id_ed25519');
const identity = { privateKeyPath: key, publicKey: readFileSync(`${key}.pub`, 'utf8').trim() };
const stateFile = join(project.deployDir, 'composition::vm-ramdisk.state.json');
const base = { project, composition: 'composition', flavour: 'vm-ramdisk', reporter: silentReporter };
const deployer = await plugin.flavours.find((f) => f.name === 'vm-ramdisk').deployer();
const message = (e) => (e instanceof Error ? e.message : String(e));

const out = {};
try {
  await deployer.start({
    ...base,
    signal: new AbortController().signal,
    composeInfo: info,
    nodes: [{ role: 'server', host: 'server' }],
    identity,
    wait: false,
    timeoutMs: 60_000,
    options: { accel: 'tcg', memory: 256 },
    async writeDeployment(nodes) {
      const doc = buildDeploymentDocument({ composeInfo: info, nodes, sshPublicKey: identity.publicKey });
      await writeDeploymentDocument(project, 'composition', 'vm-ramdisk', doc);
      return doc;
    },
    async saveState(state) {
      writeFileSync(stateFile, JSON.stringify(state));
    },
  });
  out.start = 'ok';
} catch (e) {
  out.start = message(e);
}
let state;
try {
  state = JSON.parse(readFileSync(stateFile, 'utf8'));
  out.runDir = state.runDir;
  const st = statSync(state.runDir);
  out.runDirOwner = st.uid;
  out.runDirMode = st.mode & 0o777;
} catch {
  /* no state: start failed early */
}
try {
  await deployer.stop({
    ...base,
    signal: new AbortController().signal,
    deployment: { deployment: {}, 'ssh_key.pub': '', composition: 'composition', flavour: 'vm-ramdisk' },
    state,
    identity,
  });
  out.stop = 'ok';
} catch (e) {
  out.stop = message(e);
}
console.log(JSON.stringify(out));
