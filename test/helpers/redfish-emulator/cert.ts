/**
 * A throwaway self-signed certificate for 127.0.0.1 made with the `openssl` CLI (Debian's openssl)
 * at test time: an EC P-256 key, subjectAltName IP:127.0.0.1 and DNS:localhost, valid two days.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCert {
  key: string;
  cert: string;
  certFile: string;
}

export function makeTestCert(dir: string, name = 'bmc'): TestCert {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      `/CN=metalboot test BMC ${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  if (r.status !== 0) throw new Error(`openssl req failed (${r.status ?? r.error?.message}): ${r.stderr}`);
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}
