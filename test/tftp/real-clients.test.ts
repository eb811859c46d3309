// Acceptance: real TFTP clients (tftp-hpa's tftp, atftp) against metalboot's
// server across a veth pair between two throw-away network namespaces.
// Needs root, iproute2, tftp-hpa and atftp (CI installs them); ipxe is optional.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT, createNetns, skipUnlessRoot, waitForLine } from '../helpers/netns.js';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const IPXE_FILES = ['/usr/lib/ipxe/undionly.kpxe', '/usr/lib/ipxe/ipxe.efi'].filter((f) => fs.existsSync(f));
/** atftp gained RFC 7440 windowsize in 0.7.5; its --help does not list options, its binary names them. */
const ATFTP_WINDOWSIZE = (() => {
  try {
    return fs.readFileSync('/usr/bin/atftp').includes('windowsize');
  } catch {
    return false;
  }
})();

interface ServerEvent {
  type: 'start' | 'complete' | 'error';
  file?: string;
  clientAddress: string;
  kind?: string;
  bytes?: number;
  windowsize?: number;
  blksize?: number;
}

t.test('tftp-hpa and atftp against metalboot in a namespace pair', async (t) => {
  if (!skipUnlessRoot(t, 'real TFTP client tests')) return;
  for (const tool of ['tftp', 'atftp']) {
    const found = fs.existsSync(`/usr/bin/${tool}`);
    if (!found) t.fail(`/usr/bin/${tool} missing: install tftp-hpa and atftp`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tftp-real-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  const downloads = path.join(dir, 'downloads');
  fs.mkdirSync(root);
  fs.mkdirSync(downloads);
  fs.writeFileSync(path.join(root, 'random.bin'), randomBytes(1536 * 1024 + 123));
  const served = ['random.bin'];
  for (const file of IPXE_FILES) {
    fs.copyFileSync(file, path.join(root, path.basename(file)));
    served.push(path.basename(file));
  }
  if (IPXE_FILES.length === 0) t.comment('ipxe package not installed: serving only the random file');

  const net = await createNetns(t);
  const [serverHost, clientHost] = net.hosts as [(typeof net.hosts)[0], (typeof net.hosts)[0]];
  const serverUrl = pathToFileURL(path.join(PROJECT_ROOT, 'src/tftp/server.ts')).href;
  const server = net.spawnNode(
    serverHost.ns,
    `
    const { startTftpServer } = await import(${JSON.stringify(serverUrl)});
    const emit = (e) => console.log('EVENT ' + JSON.stringify(e));
    const server = await startTftpServer({
      host: ${JSON.stringify(serverHost.address)}, port: 69, root: ${JSON.stringify(root)},
      observer: {
        onTransferStart: (e) => emit({ type: 'start', file: e.file, clientAddress: e.clientAddress, blksize: e.options.blksize, windowsize: e.options.windowsize }),
        onTransferComplete: (e) => emit({ type: 'complete', file: e.file, clientAddress: e.clientAddress, bytes: e.bytes }),
        onTransferError: (e) => emit({ type: 'error', file: e.file, clientAddress: e.clientAddress, kind: e.error.kind }),
      },
    });
    console.log('READY ' + server.address().port);
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
    `,
  );
  const events: ServerEvent[] = [];
  let stdoutBuffer = '';
  server.stdout?.on('data', (d: Buffer) => {
    stdoutBuffer += d.toString();
    const lines = stdoutBuffer.split('\n');
    stdoutBuffer = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('EVENT ')) events.push(JSON.parse(line.slice(6)) as ServerEvent);
  });
  await waitForLine(server, /^READY 69$/, 20_000);

  const addr = serverHost.address;
  const inClient = (argv: string[]) => net.run(clientHost.ns, argv, 60_000);

  for (const file of served) {
    const expected = sha256(path.join(root, file));
    const viaHpa = path.join(downloads, `hpa-${file}`);
    const hpa = await inClient(['tftp', '-m', 'binary', addr, '-c', 'get', file, viaHpa]);
    t.equal(hpa.code, 0, `tftp-hpa get ${file} exits 0`);
    t.equal(fs.existsSync(viaHpa) && sha256(viaHpa), expected, `tftp-hpa: ${file} byte-identical`);

    const viaAtftp = path.join(downloads, `atftp-${file}`);
    const options = ['--option', 'blksize 1468', '--option', 'tsize 0'];
    if (ATFTP_WINDOWSIZE) options.push('--option', 'windowsize 4');
    const at = await inClient(['atftp', ...options, '-g', '-r', file, '-l', viaAtftp, addr, '69']);
    t.equal(at.code, 0, `atftp ${options.filter((o) => o !== '--option').join(', ')} get ${file} exits 0`);
    t.equal(fs.existsSync(viaAtftp) && sha256(viaAtftp), expected, `atftp: ${file} byte-identical`);
  }
  const plainAtftp = path.join(downloads, 'atftp-plain.bin');
  const plain = await inClient(['atftp', '-g', '-r', '/random.bin', '-l', plainAtftp, addr]);
  t.equal(plain.code, 0, 'atftp without options, leading slash');
  t.equal(fs.existsSync(plainAtftp) && sha256(plainAtftp), sha256(path.join(root, 'random.bin')));

  // Refusals.
  const stolen = path.join(downloads, 'passwd');
  const hpaTraversal = await inClient(['tftp', '-m', 'binary', addr, '-c', 'get', '../etc/passwd', stolen]);
  t.match(hpaTraversal.stdout + hpaTraversal.stderr, /Error code 2/, 'tftp-hpa: ../etc/passwd refused with ERROR 2');
  t.equal(fs.existsSync(stolen) ? fs.statSync(stolen).size : 0, 0, 'nothing received');
  const atTraversal = await inClient(['atftp', '-g', '-r', '../etc/passwd', '-l', stolen, addr]);
  t.not(atTraversal.code, 0, 'atftp: ../etc/passwd fails');
  t.match(atTraversal.stderr, /parent directory/);
  t.equal(fs.existsSync(stolen) ? fs.statSync(stolen).size : 0, 0, 'nothing received');

  const upload = path.join(downloads, `hpa-random.bin`);
  const hpaPut = await inClient(['tftp', '-m', 'binary', addr, '-c', 'put', upload, 'uploaded.bin']);
  t.match(hpaPut.stdout + hpaPut.stderr, /Error code 2/, 'tftp-hpa: put refused with ERROR 2');
  const atPut = await inClient(['atftp', '-p', '-l', upload, '-r', 'uploaded.bin', addr]);
  t.not(atPut.code, 0, 'atftp: put fails');
  t.match(atPut.stderr, /read-only/);
  t.notOk(fs.existsSync(path.join(root, 'uploaded.bin')), 'nothing written to the root');

  // What the core would put on the machine's timeline.
  for (let i = 0; i < 100 && events.filter((e) => e.type !== 'start').length < served.length * 2 + 5; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const completes = events.filter((e) => e.type === 'complete');
  t.equal(completes.length, served.length * 2 + 1, 'one completion per download');
  t.ok(
    completes.every((e) => e.clientAddress === clientHost.address),
    `completions come from ${clientHost.address}`,
  );
  t.match(
    events.filter((e) => e.type === 'error').map((e) => e.kind),
    ['ACCESS_VIOLATION', 'ACCESS_VIOLATION', 'ACCESS_VIOLATION', 'ACCESS_VIOLATION'],
  );
  const atftpStart = events.find((e) => e.type === 'start' && e.blksize === 1468);
  t.match(atftpStart, { windowsize: ATFTP_WINDOWSIZE ? 4 : 1 }, 'atftp negotiated blksize 1468 (and windowsize 4)');
});
