/**
 * @nxc/g5k: what the Grid'5000 flavours share. Machine lists (`-m FILE`, `$OAR_NODEFILE`,
 * waiting with `-W`), host -> address resolution, an OAR client (submit, wait, hosts, reuse,
 * delete), and the kexec deployment engine (push with checksums, `kexec -l` with `deploy=`,
 * detached `kexec -e`, wait for the new boot) with a ready-made FlavourDeployer for kexec
 * flavours, and the mapping of `nxc.disks` onto the disks the OAR job reserved (planned from
 * OAR, checked on the machines over SSH). The flavours' `usable()` pre-checks (frontend, OAR job, Kadeploy) are the light
 * subpath `@nxc/g5k/usable`.
 */
export { readMachines, machineFileFrom } from './machines.js';
export type { MachineSource, MachineList } from './machines.js';
export { resolveMachines } from './resolve.js';
export { assignMachines } from './assign-machines.js';
export type { AssignedNode, AssignMachinesOptions } from './assign-machines.js';
export type { Lookup, ResolvedMachine } from './resolve.js';
export { Oar, localRunner, parseOarstat, DEFAULT_OAR_TIMEOUT_MS } from './oar.js';
export type { CommandRunner, OarJob, OarSubmitOptions } from './oar.js';
export { KERNEL_CMDLINE_MAX, G5K_CONSOLES, kexecAppend, inlineDeployment } from './kernel-cmdline.js';
export { serveDeployment, sourceAddressFor } from './http-server.js';
export type { DeploymentServer } from './http-server.js';
export { kexecDeploy, sha256File, defaultNodeKeys } from './kexec-deploy.js';
export type { KexecTarget, KexecDeployOptions, KexecNodeResult, KexecDeployResult } from './kexec-deploy.js';
export { kexecFlavourDeployer, kexecRunning, kexecStateSchema } from './kexec-flavour.js';
export type { KexecState, KexecFlavourOptions } from './kexec-flavour.js';
export { nfsStoreParam } from './nfs-store.js';
export type { NfsStoreOptions } from './nfs-store.js';
export { kexecOptionsSchema, nfsStoreOptionsSchema, kexecFlags, kexecOptionsShape } from './options.js';
export type { KexecOptions, NfsStoreFlavourOptions } from './options.js';
export { planNodeDisks, nxcDiskDevice } from './disks.js';
export type { AssignedDisk, DeclaredDisk } from './disks.js';
export { checkReservedDisks } from './disk-check.js';
export type { DiskCheckTarget, DiskCheckOptions } from './disk-check.js';
