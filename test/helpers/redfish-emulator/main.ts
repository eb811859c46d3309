/**
 * Run the emulator by hand:
 *   TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import test/helpers/redfish-emulator/main.ts \
 *     [--port 8443] [--systems 1,2] [--user admin] [--password secret]
 * It prints its URL and certificate file, then serves until Ctrl-C. Try:
 *   redfishtool -r 127.0.0.1:8443 -u admin -p secret -S Always Systems get
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeTestCert } from './cert.js';
import { listen } from './server.js';
import { newState } from './state.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    systems: { type: 'string', default: '1' },
    user: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'metalboot-redfish' },
  },
});
const dir = mkdtempSync(join(tmpdir(), 'redfish-emulator-'));
const cert = makeTestCert(dir);
const state = newState({ username: values.user, password: values.password, systems: values.systems.split(',') });
const running = await listen(state, cert, Number(values.port));
console.log(`Redfish emulator on https://127.0.0.1:${running.port}/redfish/v1 (user ${values.user})`);
console.log(`self-signed certificate: ${cert.certFile}`);
const stop = () => {
  console.log('resets:', JSON.stringify(state.systems.map((s) => ({ id: s.id, resets: s.resets, boots: s.boots }))));
  void running.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
