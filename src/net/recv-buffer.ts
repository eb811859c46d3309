import type { Socket } from 'node:dgram';

/**
 * Receive buffer the UDP adapters (DHCP, TFTP) ask for. A rack powering on sends its DISCOVERs and
 * read requests within a second; with the kernel's default (~208 KiB) a burst of 200 lost a third
 * of them in front of the socket while the first ones were being answered.
 */
export const UDP_RECV_BUFFER_BYTES = 4 << 20;

interface InfoLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/**
 * Asks for a larger receive buffer, best effort: a smaller buffer only means drops under a burst
 * (clients retransmit), never a reason not to start. Logs the size the kernel granted, and how to
 * raise the cap when it was capped. `what` names the socket in the log lines.
 */
export function enlargeRecvBuffer(socket: Socket, what: string, log: InfoLogger, fields: object = {}): void {
  const requested = UDP_RECV_BUFFER_BYTES;
  try {
    socket.setRecvBufferSize(requested);
  } catch (err) {
    log.info({ ...fields, err, requested }, `cannot enlarge the ${what} receive buffer; keeping the default`);
    return;
  }
  let obtained: number;
  try {
    obtained = socket.getRecvBufferSize();
  } catch {
    return; // only for the log line
  }
  // Linux reports twice the size set (the extra half is its bookkeeping allowance).
  if (obtained < (process.platform === 'linux' ? 2 : 1) * requested) {
    log.info(
      { ...fields, requested, obtained },
      `${what} receive buffer capped by the kernel; raise net.core.rmem_max so bursts from a large rack are not dropped`,
    );
  } else {
    log.debug({ ...fields, requested, obtained }, `${what} receive buffer`);
  }
}
