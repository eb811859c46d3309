/** `machine add/edit`: the three ways to name the install disk become the API's `installDisk`. */
import t from 'tap';

import { fieldsBody } from '../../src/cli/commands/machine-fields.js';

t.test('--install-disk, --disk-selector and --disk-match, one at a time', async (t) => {
  t.strictSame(fieldsBody({ installDisk: '/dev/sda' }), { installDisk: '/dev/sda' });
  t.strictSame(fieldsBody({ diskSelector: '{size: ">= 100GB", type: nvme}' }), {
    installDisk: { size: '>= 100GB', type: 'nvme' },
  });
  t.strictSame(fieldsBody({ diskMatch: 'disk.size >= 100u * GB' }), {
    installDisk: { match: 'disk.size >= 100u * GB' },
  });
  t.strictSame(fieldsBody({ installDisk: false }), { installDisk: null }, '--no-install-disk clears it');
  t.throws(
    () => fieldsBody({ installDisk: '/dev/sda', diskMatch: 'true' }),
    /give one of --install-disk, --disk-selector and --disk-match/,
  );
  t.throws(() => fieldsBody({ diskSelector: '{}', diskMatch: 'true' }), /give one of/);
});
