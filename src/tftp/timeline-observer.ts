import type { DhcpTftpObserver } from '../core/network/dhcp-tftp-observer.js';
import type { TftpObserver } from './types.js';

/** The TFTP server's observer that puts transfers on the timeline of the machine at that address. */
export function timelineObserver(network: Pick<DhcpTftpObserver, 'recordTransfer'>): TftpObserver {
  return {
    onTransferStart: (e) =>
      network.recordTransfer(e.clientAddress, 'tftp-started', {
        file: e.file,
        blksize: e.options.blksize,
        windowsize: e.options.windowsize,
      }),
    onTransferComplete: (e) =>
      network.recordTransfer(e.clientAddress, 'tftp-completed', {
        file: e.file,
        bytes: e.bytes,
        durationMs: e.durationMs,
      }),
    onTransferError: (e) =>
      network.recordTransfer(e.clientAddress, 'tftp-failed', { file: e.file ?? null, error: e.error.message }),
  };
}
