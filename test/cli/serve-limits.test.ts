// The connection-limit settings reach the running server from a flag, a METALBOOT_* variable and
// metalboot.yaml; a limit that would be off or too long is refused at start with its flag's name.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { freePort, spawnCollecting, startCli } from '../helpers/spawn-server.js';

const run = promisify(execFile);

t.test(
  'metalboot serve: limits from flag, environment and settings file; 503 + Retry-After past the per-source cap',
  async (t) => {
    const dir = t.testdir({});
    const port = await freePort();
    const config = join(dir, 'metalboot.yaml');
    writeFileSync(config, 'tftp-max-transfers-per-source: 4\nhttp-send-timeout: 45\n');
    const srv = await startCli(
      t,
      [
        'serve',
        '--config',
        config,
        '--listen',
        `127.0.0.1:${port}`,
        '--tftp-listen',
        'off',
        '--http-max-connections-per-source',
        '2',
      ],
      {
        METALBOOT_DATA_DIR: join(dir, 'data'),
        METALBOOT_API_TOKEN: 'env-token-0123456789',
        METALBOOT_HTTP_KEEPALIVE_TIMEOUT: '5',
      },
    );
    const ready = JSON.parse(
      srv
        .stdout()
        .split('\n')
        .find((l) => l.includes('metalboot ready'))!,
    );
    t.equal(
      ready.limits,
      'HTTP: header 60 s, body idle 60 s, keep-alive 5 s, download idle 45 s, 4096 connections (2 per source); TFTP: 4 transfers per source',
      'the ready line states the limits in force',
    );

    const held = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    t.teardown(() => held.forEach((s) => s.destroy()));
    const refused = await run('curl', ['-s', '-i', `http://127.0.0.1:${port}/healthz`]);
    t.match(
      refused.stdout,
      /^HTTP\/1\.1 503 Service Unavailable\r\n/,
      'a third connection from the same address is refused',
    );
    t.match(refused.stdout, /\r\nRetry-After: 5\r\n/);
    held.forEach((s) => s.destroy());
    let status = '';
    for (let i = 0; i < 50 && status !== '200'; i++) {
      status = (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/healthz`]))
        .stdout;
      if (status !== '200') await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(status, '200', 'served again once the held connections closed');
    srv.child.kill('SIGTERM');
    t.equal(await srv.exited, 0);

    const bad: Array<[string[], RegExp]> = [
      [
        ['--http-keepalive-timeout', '90'],
        /--http-keepalive-timeout must be a whole number from 1 to 75, got .{1,2}90/,
      ],
      [['--http-max-connections', '0'], /--http-max-connections must be a whole number/],
      [
        ['--http-max-connections', '10', '--http-max-connections-per-source', '20'],
        /must not exceed --http-max-connections/,
      ],
    ];
    for (const [args, message] of bad) {
      const p = spawnCollecting(t, ['serve', '--listen', '127.0.0.1:0', '--tftp-listen', 'off', ...args], {
        ...process.env,
        METALBOOT_DATA_DIR: join(dir, 'data'),
        METALBOOT_API_TOKEN: 'env-token-0123456789',
      });
      t.equal(await p.exited, 1, args.join(' '));
      t.match(p.stdout() + p.stderr(), message);
    }
  },
);
