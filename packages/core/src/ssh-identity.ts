/** The SSH identity nodes authorize. */
export interface SshIdentity {
  /** Absolute path of the private key (mode 0600). */
  privateKeyPath: string;
  /** Public key line, e.g. `ssh-ed25519 AAAA... nxc@project`. */
  publicKey: string;
}
