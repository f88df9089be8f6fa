/**
 * Deployment: which node runs which role, where. Written at start to
 * deploy/<composition>::<flavour>.json and read by every node at boot.
 */

/** A node to run, from the role distribution. */
export interface PlannedNode {
  role: string;
  /** Hostname (see role-distribution.ts for the naming rules). */
  host: string;
}

/** A node with the address the flavour gave it. */
export interface DeployedNode extends PlannedNode {
  /** Address the node has and finds itself by (IP, or hostname when the platform has no fixed IP). */
  address: string;
  /** Store path of the role's init (filled from the compose info when omitted). */
  init?: string;
}

/**
 * The document nodes read, in the original nxc's field names:
 * `{"deployment": {ADDRESS: {role, host, init}}, "ssh_key.pub", "composition", "all", "user", "parameters"}`
 * plus `flavour`.
 */
export interface DeploymentDocument {
  deployment: Record<string, { role: string; host: string; init?: string }>;
  'ssh_key.pub': string;
  composition: string;
  flavour: string;
  all?: Record<string, string>;
  user: string;
  parameters?: Record<string, unknown>;
}
