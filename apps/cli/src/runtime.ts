/** What every action receives: output streams, flags shared by all verbs, the abort signal. */
export interface Runtime {
  /** Working directory the project is looked up from. */
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** `--debug`: stacks on errors, verbose progress. */
  debug: boolean;
  /** Aborted on SIGINT/SIGTERM/SIGHUP; commands clean up and the CLI exits 128 + the signal's number. */
  signal: AbortSignal;
  /** Arguments after `--` (nxc exec). */
  rest: string[];
  /** argv[0..1] to re-run this nxc (tmux panes run `nxc connect HOST`). */
  self: string[];
}
