import t from 'tap';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/core-app.js';
import { runCli, serveIn } from '../helpers/cli-run.js';
import { freePort } from '../helpers/spawn-server.js';

const readyLine = (out: string) => JSON.parse(out.split('\n').find((l) => l.includes('metalboot ready'))!);

t.test('metalboot.yaml: ./metalboot.yaml is read; relative directories are relative to the file', async (t) => {
  const dir = t.testdir({ etc: {} });
  const port = await freePort();
  writeFileSync(
    join(dir, 'metalboot.yaml'),
    `# serve's flags without the dashes\nlisten: 127.0.0.1:${port}\nadvertise-url: http://10.1.2.3:${port}\ntftp-listen: off\ndata-dir: state\ntemplates-dir: ${join(ROOT, 'templates')}\ndiscovery-retry: 45\n`,
  );
  const srv = await serveIn(t, dir, [], { METALBOOT_API_TOKEN: 'file-token-0123456789' });
  t.match(readyLine(srv.stdout()), {
    http: `127.0.0.1:${port}`,
    advertiseUrl: `http://10.1.2.3:${port}`,
    tftp: 'off',
    dataDir: join(dir, 'state'),
  });
  const script = await (await fetch(`http://127.0.0.1:${port}/ipxe?mac=52:54:00:00:00:01`)).text();
  t.match(script, 'sleep 45', 'numbers from the file are settings too');
});

t.test('precedence: flag > environment > file > default', async (t) => {
  const dir = t.testdir({});
  const port = await freePort();
  const file = join(dir, 'conf', 'metalboot.yaml');
  mkdirSync(join(dir, 'conf'));
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}\nadvertise-url: http://10.0.0.1:1\nlog-level: info\ntftp-listen: off\ndata-dir: /${'nonexistent-but-overridden'}\n`,
  );
  const env = {
    METALBOOT_CONFIG: file,
    METALBOOT_ADVERTISE_URL: 'http://10.0.0.2:2',
    METALBOOT_DATA_DIR: join(dir, 'data'),
    METALBOOT_API_TOKEN: 'file-token-0123456789',
  };
  const fromEnv = await serveIn(t, ROOT, [], env);
  t.match(
    readyLine(fromEnv.stdout()),
    { advertiseUrl: 'http://10.0.0.2:2', dataDir: join(dir, 'data') },
    'environment beats the file',
  );
  fromEnv.child.kill('SIGTERM');
  await fromEnv.exited;
  const fromFlag = await serveIn(t, ROOT, ['--advertise-url', 'http://10.0.0.3:3'], env);
  t.match(
    readyLine(fromFlag.stdout()),
    { http: `127.0.0.1:${port}`, advertiseUrl: 'http://10.0.0.3:3' },
    'the flag beats both; the file still fills the rest',
  );
  t.ok(existsSync(join(dir, 'data', 'metalboot.db')));
});

t.test('a settings file with mistakes stops serve with a message', async (t) => {
  const dir = t.testdir({
    'typo.yaml': 'listen: 127.0.0.1:1\nadvertize-url: http://x\n',
    'list.yaml': 'listen: [a, b]\n',
    'relays.yaml':
      'dhcp-relay-subnet:\n  - 10.1.0.0/24,10.1.0.100-10.1.0.199\n  - nonsense\ntftp-listen: off\nlisten: 127.0.0.1:1\n',
    'broken.yaml': 'listen: [\n',
  });
  const cases: Array<[string, RegExp]> = [
    [
      'typo.yaml',
      /unknown setting "advertize-url".*settings are the flags of `metalboot serve` without "--": data-dir, /s,
    ],
    ['list.yaml', /"listen" takes one value, not a list/],
    ['relays.yaml', /--dhcp-relay-subnet "nonsense" must be/],
    ['broken.yaml', /broken\.yaml: /],
    ['missing.yaml', /settings file .*missing\.yaml does not exist/],
  ];
  for (const [file, message] of cases) {
    const r = await runCli(['serve', '--config', join(dir, file)], { METALBOOT_DATA_DIR: join(dir, 'data') });
    t.equal(r.code, 1, file);
    // serve logs JSON (pino); the message is in `msg`.
    const fatal = (r.stdout + r.stderr)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 60);
    t.match(fatal?.msg, message, file);
  }
});
