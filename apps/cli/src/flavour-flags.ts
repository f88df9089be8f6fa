/**
 * The flavours' own `nxc start` flags (`--accel`, `--push-path`...): read from the installed
 * plugins' manifests (their light entries for a plugin without one) and added to the start
 * command before argv is parsed, so that they parse as typed and `nxc start -f vm --help` lists vm's. Core validates their values and
 * refuses a flag of another flavour; the CLI only carries them.
 */
import type { Command } from 'commander';
import type { Runtime } from './runtime.js';

/** Long flag -> commander attribute, for the flags added to the start command. */
const added = new Map<string, string>();

/** The flavour named on the command line (`-f X`, `--flavour X`, `-C comp::X`), if any. */
function selectedFlavour(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-f' || arg === '--flavour') return argv[i + 1];
    if (arg.startsWith('--flavour=')) return arg.slice('--flavour='.length);
    if (arg === '-C' || arg === '--composition') {
      const value = argv[i + 1] ?? '';
      if (value.includes('::')) return value.split('::')[1];
    }
  }
  return undefined;
}

/**
 * Adds every installed flavour's flags to `start` (one option per long flag, whichever
 * flavours share it). With a flavour selected, help shows only that flavour's flags.
 * Throws what loading the project or its plugins throws.
 */
export async function addFlavourFlags(start: Command, rt: Runtime, argv: string[]): Promise<void> {
  const { describeFlavours, loadProject } = await import('@nxc/core');
  const { flagSpelling } = await import('@nxc/core/flavour');
  // read from the plugins' manifests: no plugin with a manifest is imported here
  const flavours = await describeFlavours(await loadProject(rt.cwd));
  const selected = selectedFlavour(argv);
  const owners = new Map<string, string[]>();
  for (const flavour of flavours) {
    for (const flag of flavour.flags ?? []) {
      const { long } = flagSpelling(flag.flag);
      owners.set(long, [...(owners.get(long) ?? []), flavour.name]);
    }
  }
  for (const flavour of flavours) {
    for (const flag of flavour.flags ?? []) {
      const { long, short } = flagSpelling(flag.flag);
      if (added.has(long)) continue;
      // a flag nxc start already has stays nxc's (the plugin's is unreachable)
      if (start.options.some((o) => o.long === long || (short !== undefined && o.short === short))) continue;
      const who = owners.get(long) ?? [];
      // createOption: commander stays in main's chunk (this module is loaded with the actions)
      const option = start.createOption(
        flag.flag,
        selected ? flag.description : `${flag.description} (${who.join(', ')})`,
      );
      if (selected && !who.includes(selected)) option.hideHelp();
      start.addOption(option);
      added.set(long, option.attributeName());
    }
  }
  const flavour = selected ? flavours.find((f) => f.name === selected) : undefined;
  if (flavour) {
    const names = flavour.options;
    start.addHelpText(
      'after',
      `\nFlavour ${flavour.name} (${flavour.plugin.name}): ${names.length > 0 ? `options ${names.join(', ')}; set them with its flags above, -O key=value, or flavourOptions["${flavour.name}"] in the config` : 'takes no option'}.`,
    );
  }
}

/** The flavour flags given on the command line, by long name, from commander's parsed flags. */
export function givenFlavourFlags(flags: Record<string, unknown>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [long, attribute] of added) {
    const value = flags[attribute];
    if (typeof value === 'string' || typeof value === 'boolean') out[long] = value;
  }
  return out;
}
