/**
 * The script for a request that asked for a machine's install script but could not be tied to
 * the machine (binding/config-binding.ts): no kernel, no config URL, a bounded retry.
 *
 * Built in, not an operator template: it guards the cluster's keys, and a templates directory
 * copied before it existed must keep working. The retry counter is an iPXE setting, so it
 * survives `chain`; after the last try iPXE exits to the firmware, which tries its next boot
 * option (a new network boot does DHCP again, which may tie it).
 */
export const BINDING_RETRY_SECONDS = 10;
export const BINDING_RETRY_LIMIT = 30;

export function bindingRefusedScript(v: { baseUrl: string; mac: string; reason: string }): string {
  return [
    '#!ipxe',
    `# metalboot: this request for ${v.mac}'s install script could not be tied to that machine: ${v.reason}.`,
    '# No config for it. The machine itself, booting on its own address, gets its script.',
    `echo metalboot: not serving ${v.mac}'s install script to this request: ${v.reason}`,
    'isset ${metalboot-binding-tries} || set metalboot-binding-tries 0',
    'inc metalboot-binding-tries',
    `iseq \${metalboot-binding-tries} ${BINDING_RETRY_LIMIT} && goto give_up ||`,
    `echo metalboot: retrying in ${BINDING_RETRY_SECONDS} seconds (try \${metalboot-binding-tries} of ${BINDING_RETRY_LIMIT})`,
    `sleep ${BINDING_RETRY_SECONDS}`,
    `chain --autofree ${v.baseUrl}/boot.ipxe`,
    ':give_up',
    `echo metalboot: giving up after ${BINDING_RETRY_LIMIT} tries`,
    'exit 1',
    '',
  ].join('\n');
}
