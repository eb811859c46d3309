// `metalboot machine bmc <mac> [ipmi://user@host[:port] | redfish://…]`: set, show or remove a machine's BMC.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ApiClient, clientFlags, withClientOptions } from '../client.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { formatFields, printJson } from '../output.js';

interface BmcFlags {
  passwordFile?: string;
  systemId?: string;
  insecureTls?: boolean;
  caFile?: string;
  remove?: boolean;
}

interface BmcView {
  driver: string;
  address: string;
  username: string;
  systemId: string | null;
  insecureTls: boolean;
  caCert?: string | null;
}

/** `ipmi://admin@10.0.0.21:623` → driver, username, address. A password in it is refused: shell history. */
export function parseBmcUrl(text: string): { driver: 'ipmi' | 'redfish'; username: string; address: string } {
  const m = /^(ipmi|redfish):\/\/([^@/:]+)(:[^@/]*)?@([^/@]+)\/?$/.exec(text);
  if (!m) throw usageError(`"${text}" is not a BMC URL: ipmi://user@host[:port] or redfish://user@host[:port]`);
  if (m[3]) throw usageError('put the password in a file (--password-file) or METALBOOT_BMC_PASSWORD, not in the URL');
  return { driver: m[1] as 'ipmi' | 'redfish', username: decodeURIComponent(m[2]!), address: m[4]! };
}

/** The password from --password-file (its first line) or METALBOOT_BMC_PASSWORD: never from argv. */
function readPassword(o: BmcFlags): string {
  const raw = o.passwordFile
    ? readFileSync(o.passwordFile, 'utf8').split(/\r?\n/)[0]
    : process.env.METALBOOT_BMC_PASSWORD;
  if (!raw) throw usageError('the BMC password: --password-file <file> or METALBOOT_BMC_PASSWORD');
  return raw;
}

export function bmcCommand(): Command {
  return withClientOptions(
    new Command('bmc')
      .argument('<mac>')
      .argument('[url]', 'ipmi://user@host[:port] or redfish://user@host[:port]')
      .description("the machine's BMC: set it (with a URL), show it (without), or --remove it")
      .option('--password-file <file>', "a file whose first line is the BMC's password (or METALBOOT_BMC_PASSWORD)")
      .option('--system-id <id>', 'Redfish: the ComputerSystem id, when the BMC has several')
      .option('--insecure-tls', "Redfish: accept the BMC's self-signed certificate")
      .option(
        '--ca-file <pem>',
        "Redfish: trust this CA (or the BMC's own certificate) for it, instead of --insecure-tls",
      )
      .option('--remove', "forget the machine's BMC"),
  ).action(async (mac: string, url: string | undefined, o: BmcFlags, cmd: Command) => {
    const flags = clientFlags(cmd);
    const api = ApiClient.fromFlags(flags);
    const path = `/machines/${encodeURIComponent(mac)}/bmc`;
    if (o.remove) {
      if (url) throw usageError('--remove takes no URL');
      await api.request('DELETE', path);
      return void process.stdout.write(`BMC of ${mac} removed\n`);
    }
    let bmc: BmcView | null;
    if (url) {
      const target = parseBmcUrl(url);
      bmc = await api.request<BmcView>('PUT', path, {
        ...target,
        password: readPassword(o),
        ...(o.systemId !== undefined ? { systemId: o.systemId } : {}),
        ...(o.insecureTls ? { insecureTls: true } : {}),
        ...(o.caFile ? { caCert: readFileSync(o.caFile, 'utf8') } : {}),
      });
    } else {
      bmc = (await api.get<{ bmc?: BmcView | null }>(`/machines/${encodeURIComponent(mac)}`)).bmc ?? null;
      if (!bmc)
        throw new CliError(
          `machine ${mac} has no BMC`,
          EXIT.notFound,
          `set one: metalboot machine bmc ${mac} ipmi://user@host --password-file f`,
        );
    }
    if (flags.output === 'json') return printJson(bmc);
    process.stdout.write(
      `${formatFields([
        ['driver', bmc.driver],
        ['address', bmc.address],
        ['username', bmc.username],
        ['system id', bmc.systemId],
        ['insecure TLS', bmc.insecureTls ? 'yes' : null],
        ['pinned CA', bmc.caCert ? 'yes' : null],
      ])}\n`,
    );
  });
}
