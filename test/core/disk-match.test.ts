/**
 * Disk choices as Talos v1.14 CEL: a path as talosctl writes it, a v1alpha1 selector as Talos's own
 * InstallConfig.DiskMatchExpression derives it, a raw match as given — and nothing an operator
 * types can end a CEL string literal.
 */
import t from 'tap';

import { celString, matchDevicePath, MAX_MATCH_LENGTH, selectorToCel } from '../../src/core/config/disk-match.js';
import { ValidationError } from '../../src/core/errors.js';

const TAIL = 'disk.transport != "" && !disk.readonly && !disk.cdrom';

t.test('a device path is talosctl’s match', async (t) => {
  t.equal(matchDevicePath('/dev/vda'), 'disk.dev_path == "/dev/vda"');
  t.equal(
    matchDevicePath('/dev/disk/by-path/pci-0000:00:1f.2-ata-1'),
    'disk.dev_path == "/dev/disk/by-path/pci-0000:00:1f.2-ata-1"',
  );
});

t.test('quotes and backslashes cannot inject CEL', async (t) => {
  t.equal(celString('a"b\\c'), '"a\\"b\\\\c"');
  t.equal(matchDevicePath('/dev/x" || true || "'), 'disk.dev_path == "/dev/x\\" || true || \\""');
  const model = selectorToCel({ model: 'WDC") || disk.size > 0u || glob("*' });
  t.equal(model, `glob("WDC\\") || disk.size > 0u || glob(\\"*", disk.model) && ${TAIL}`);
  t.equal(celString('line\nbreak'), '"line\\nbreak"', 'control characters are escaped too');
});

t.test('v1alpha1 selectors translate as Talos translates them', async (t) => {
  t.equal(selectorToCel({ size: '>= 100GB' }), `disk.size >= 100000000000u && ${TAIL}`);
  t.equal(selectorToCel({ size: '<=2TB' }), `disk.size <= 2000000000000u && ${TAIL}`);
  t.equal(selectorToCel({ size: '512GiB' }), `disk.size == 549755813888u && ${TAIL}`, 'no operator: equality');
  t.equal(selectorToCel({ size: '> 1.5 TB' }), `disk.size > 1500000000000u && ${TAIL}`, 'decimals are exact');
  t.equal(selectorToCel({ size: 1000 }), `disk.size == 1000u && ${TAIL}`, 'a bare number is bytes');
  t.equal(
    selectorToCel({ type: 'nvme' }),
    'disk.transport != "" && disk.transport == "nvme" && !disk.readonly && !disk.cdrom',
  );
  t.equal(
    selectorToCel({ type: 'sd' }),
    'disk.transport != "" && disk.transport == "mmc" && !disk.readonly && !disk.cdrom',
  );
  t.equal(selectorToCel({ type: 'hdd' }), 'disk.transport != "" && disk.rotational && !disk.readonly && !disk.cdrom');
  t.equal(selectorToCel({ type: 'ssd' }), 'disk.transport != "" && !disk.rotational && !disk.readonly && !disk.cdrom');
  t.equal(
    selectorToCel({
      busPath: '/pci0000:00/*',
      serial: 'S3*',
      wwid: 'naa.5*',
      model: 'Samsung*',
      uuid: 'u-*',
      modalias: 'scsi:*',
      size: '>= 100GB',
      type: 'ssd',
    }),
    'disk.size >= 100000000000u && glob("u-*", disk.uuid) && glob("naa.5*", disk.wwid) && glob("Samsung*", disk.model) && glob("S3*", disk.serial) && glob("scsi:*", disk.modalias) && disk.transport != "" && !disk.rotational && glob("/pci0000:00/*", disk.bus_path) && !disk.readonly && !disk.cdrom',
    'every field, in Talos’s order',
  );
  t.equal(selectorToCel({}), TAIL, 'an empty selector: any real, writable disk');
});

t.test('a raw CEL match is taken as written', async (t) => {
  t.equal(
    selectorToCel({ match: ' disk.size > 100u * GB && !disk.rotational ' }),
    'disk.size > 100u * GB && !disk.rotational',
  );
});

t.test('what Talos would refuse is refused with the field', async (t) => {
  const refused = (selector: Record<string, unknown>, message: RegExp, field: string) => {
    try {
      selectorToCel(selector);
      t.fail(`accepted ${JSON.stringify(selector)}`);
    } catch (err) {
      t.ok(err instanceof ValidationError, 'a ValidationError (HTTP 400)');
      t.match((err as ValidationError).message, message);
      t.equal((err as ValidationError).field, field);
    }
  };
  refused({ name: 'sda' }, /does not support selecting the install disk by name/, 'installDisk.name');
  refused({ type: 'tape' }, /type: must be one of nvme, sd, hdd, ssd/, 'installDisk.type');
  refused({ size: 'lots' }, /cannot read "lots"/, 'installDisk.size');
  refused({ size: '>= 100 parsecs' }, /cannot read/, 'installDisk.size');
  refused({ size: '99999999EB' }, /cannot read/, 'installDisk.size');
  refused({ size: true }, /size: must be a string/, 'installDisk.size');
  refused({ model: 7 }, /model: must be a string/, 'installDisk.model');
  refused({ colour: 'red' }, /installDisk\.colour: unknown disk selector field/, 'installDisk.colour');
  refused({ match: '' }, /non-empty CEL expression/, 'installDisk');
  refused({ match: 3 }, /non-empty CEL expression/, 'installDisk');
  refused({ match: 'true\n|| x' }, /one line/, 'installDisk');
  refused({ match: 'x'.repeat(MAX_MATCH_LENGTH + 1) }, /longer than/, 'installDisk');
  refused({ match: 'true', size: '1GB' }, /stands alone/, 'installDisk');
});
