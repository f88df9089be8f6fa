/**
 * @nxc/ssh: how nxc reaches nodes over SSH (qemu VMs, Grid'5000 machines). An ssh2
 * {@link SshTransport} implementing core's `Transport`, per-deployment host keys
 * ({@link HostKeyStore}: trust on first use at start unless a known key is given, checked for
 * the deployment's whole life; nxc never writes ~/.ssh/known_hosts, and reads known_hosts
 * files only to check machines it did not deploy, see {@link lookupKnownHosts}),
 * {@link waitForSsh} that cannot hang on silent
 * ports, and {@link fanOut} for bounded per-node work with OK / FAILED / UNREACHABLE results.
 */
export { SshTransport, SshUnreachableError } from './transport.js';
export type { SshEndpoint, SshExecOptions, SshTransportOptions } from './transport.js';
export { HostKeyStore, fingerprint, hostKeyRecord } from './host-keys.js';
export type { HostKeyRecords, HostKeyMismatch, HostKeyStoreOptions } from './host-keys.js';
export {
  defaultKnownHostsFiles,
  parseKnownHosts,
  readKnownHosts,
  lookupKnownHosts,
  hostFieldMatches,
} from './known-hosts.js';
export type { KnownHostLine, KnownHostKeys } from './known-hosts.js';
export { waitForSsh, probeSshBanner } from './wait-for-ssh.js';
export type { WaitForSshOptions, WaitForSshResult } from './wait-for-ssh.js';
export { fanOut, execAll, describeFailures } from './fan-out.js';
export type { NodeOutcome, FanOutOptions } from './fan-out.js';
export { shellQuote, remoteCommand } from './shell-quote.js';
