// The `kexec` stand-in of a scale-sim machine (the machine's /usr/sbin/kexec; see README.md).
//   kexec -l KERNEL --initrd=FILE --append=STRING   "loads": records what it was given (sizes,
//        the kernel's SHA-256, the initrd's mode, command line) and unpacks what the kernel
//        would from the initrd's appended uncompressed newc archive (nxc's host key files) into
//        /run/sim/initrd/
//   kexec -e   "boots" what was loaded: asks the machine's init (PID 1) to reboot
//   kexec -u   unloads
// Log: one JSON line per call in $SCALESIM_MACHINE_DIR/kexec.log.
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';

const machineDir = process.env.SCALESIM_MACHINE_DIR ?? '';
const RUN = '/run/sim';
const args = process.argv.slice(2);
const log = (entry) =>
  machineDir &&
  appendFileSync(join(machineDir, 'kexec.log'), `${JSON.stringify({ at: Date.now(), ...entry })}\n`);
const die = (msg) => {
  process.stderr.write(`kexec: ${msg}\n`);
  log({ args, error: msg });
  process.exit(1);
};

/** Newc entries of the archive starting at `at` if it runs cleanly to its trailer and that ends the file (zero padding aside), else undefined. */
function newcAt(buf, at) {
  const files = [];
  let p = at;
  for (;;) {
    if (p + 110 > buf.length || buf.toString('latin1', p, p + 6) !== '070701') return undefined;
    const field = (i) => Number.parseInt(buf.toString('latin1', p + 6 + i * 8, p + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (![mode, size, nameSize].every(Number.isFinite)) return undefined;
    const name = buf.toString('latin1', p + 110, p + 110 + nameSize - 1);
    const dataAt = (p + 110 + nameSize + 3) & ~3;
    if (name === 'TRAILER!!!') return buf.subarray(dataAt + size).every((b) => b === 0) ? files : undefined;
    files.push({ name, mode, data: buf.subarray(dataAt, dataAt + size) });
    p = (dataAt + size + 3) & ~3;
  }
}

/** The files of the last uncompressed newc archive appended to an initrd (what nxc adds). */
function appendedFiles(buf) {
  const magic = Buffer.from('070701');
  let best;
  for (
    let i = buf.lastIndexOf(magic);
    i >= Math.max(0, buf.length - 65536);
    i = buf.lastIndexOf(magic, i - 1)
  ) {
    if (i % 4 !== 0) continue;
    const files = newcAt(buf, i);
    if (files) best = files; // the earliest start that runs to the end: the whole appended archive
    if (i === 0) break;
  }
  return best ?? [];
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

if (args[0] === '-l' || args[0] === '--load') {
  let kernel;
  let initrd;
  let append = '';
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--initrd=')) initrd = a.slice(9);
    else if (a === '--initrd') initrd = args[++i];
    else if (a.startsWith('--append=')) append = a.slice(9);
    else if (a.startsWith('--command-line=')) append = a.slice(15);
    else if (!a.startsWith('-') && kernel === undefined) kernel = a;
    else die(`unsupported argument ${a}`);
  }
  if (!kernel) die('-l needs a kernel');
  let k;
  let r;
  try {
    k = readFileSync(kernel);
  } catch (e) {
    die(`cannot read the kernel ${kernel}: ${e.message}`);
  }
  // A real kexec -l reads the two files into memory and nothing more; every simulated machine
  // shares the host's cores, so the stand-in reads only what it checks: the whole kernel (its
  // SHA-256) and the initrd's tail, where nxc's archive is appended (appendedFiles looks at the
  // last 64 KiB only).
  let initrdMode;
  let initrdSize = 0;
  try {
    r = Buffer.alloc(0);
    if (initrd) {
      const fd = openSync(initrd, 'r');
      try {
        const st = fstatSync(fd);
        initrdSize = st.size;
        initrdMode = (st.mode & 0o777).toString(8);
        // from a 4-byte boundary of the file: newc archives are aligned on it
        const from = Math.max(0, st.size - 65536) & ~3;
        r = Buffer.alloc(st.size - from);
        readSync(fd, r, 0, r.length, from);
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    die(`cannot read the initrd ${initrd}: ${e.message}`);
  }
  rmSync(RUN + '/initrd', { recursive: true, force: true });
  const files = appendedFiles(r);
  for (const f of files) {
    const out = join(RUN, 'initrd', f.name);
    if ((f.mode & 0o170000) === 0o040000) mkdirSync(out, { recursive: true });
    else {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, f.data, { mode: f.mode & 0o777 });
    }
  }
  writeFileSync(`${RUN}/cmdline`, `${append}\n`);
  const loaded = {
    kernel,
    kernelSize: k.length,
    kernelSha256: sha(k),
    initrd,
    initrdSize,
    initrdMode,
    append,
    appendedFiles: files.map((f) => f.name),
  };
  writeFileSync(`${RUN}/loaded.json`, JSON.stringify(loaded));
  log({ op: 'load', ...loaded });
} else if (args[0] === '-e' || args[0] === '--exec') {
  try {
    readFileSync(`${RUN}/loaded.json`);
  } catch {
    die('Nothing has been loaded!');
  }
  log({ op: 'exec' });
  process.kill(1, 'SIGUSR1');
  // a real kexec -e does not return: the machine goes down under it
  setInterval(() => undefined, 1 << 30);
} else if (args[0] === '-u' || args[0] === '--unload') {
  rmSync(`${RUN}/loaded.json`, { force: true });
  log({ op: 'unload' });
} else
  die(
    `usage: kexec -l KERNEL --initrd=FILE --append=STRING | -e | -u (scale-sim stand-in), got ${args.join(' ')}`,
  );
