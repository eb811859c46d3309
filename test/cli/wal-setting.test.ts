import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnCollecting, startCli, TEST_LISTENERS, waitReady } from '../helpers/spawn-server.js';

const run = promisify(execFile);

t.test(
  '--wal-max-mb / METALBOOT_WAL_MAX_MB sets the WAL bound; a bad value fails the start with a message',
  async (t) => {
    const dir = t.testdir({});
    const port = await freePort();
    const env = {
      METALBOOT_DATA_DIR: join(dir, 'data'),
      METALBOOT_ASSETS_DIR: join(dir, 'assets'),
      METALBOOT_API_TOKEN: 'wal-token-0123456789',
      METALBOOT_TFTP_LISTEN: 'off',
    };
    const srv = await startCli(t, ['serve', '--listen', `127.0.0.1:${port}`], { ...env, METALBOOT_WAL_MAX_MB: '2' });
    const { stdout } = await run('curl', ['-sf', `http://127.0.0.1:${port}/metrics`]);
    t.match(stdout, /^metalboot_store_wal_max_bytes 2097152$/m, '2 MiB from the environment');
    srv.child.kill('SIGTERM');
    t.equal(await srv.exited, 0);

    for (const value of ['0', '-5', '1.5', 'lots']) {
      const bad = spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`, '--wal-max-mb', value], {
        ...process.env,
        ...TEST_LISTENERS,
        ...env,
      });
      t.equal(await bad.exited, 1, `--wal-max-mb ${value}: refused`);
      t.match(bad.stdout() + bad.stderr(), `--wal-max-mb must be a positive integer, got \\"${value}\\"`);
    }
    const again = await waitReady(
      spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`], { ...process.env, ...TEST_LISTENERS, ...env }),
    );
    const metrics = await run('curl', ['-sf', `http://127.0.0.1:${port}/metrics`]);
    t.match(metrics.stdout, /^metalboot_store_wal_max_bytes 67108864$/m, 'default 64 MiB');
    again.child.kill('SIGTERM');
    await again.exited;

    const file = join(dir, 'metalboot.yaml');
    writeFileSync(file, 'wal-max-mb: 3\n');
    const fromFile = await waitReady(
      spawnCollecting(t, ['serve', '--listen', `127.0.0.1:${port}`, '--config', file], {
        ...process.env,
        ...TEST_LISTENERS,
        ...env,
      }),
    );
    const m3 = await run('curl', ['-sf', `http://127.0.0.1:${port}/metrics`]);
    t.match(m3.stdout, /^metalboot_store_wal_max_bytes 3145728$/m, '3 MiB from metalboot.yaml');
    fromFile.child.kill('SIGTERM');
    await fromFile.exited;
  },
);
