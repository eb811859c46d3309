import { parseTalosVersion } from '../core/config/cmdline.js';
import type { ConfigMap } from '../core/config/values.js';
import type { KernelArgProvider } from '../core/boot/boot-service.js';
import type { DocumentProvider } from '../core/config/render.js';

/** Where machines send their events and kernel log: what goes into kernel args and config documents. */
export interface TalosEndpoints {
  /** `host:port` for `talos.events.sink=` and EventSinkConfig.endpoint, or null when off. */
  events: string | null;
  /** `tcp://host:port/` for `talos.logging.kernel=` and KmsgLogConfig.url, or null when off. */
  kmsg: string | null;
}

/**
 * The endpoints to advertise: the advertise URL's host (what machines already reach metalboot
 * at) with each listener's port. A listener on a specific address is still advertised by the
 * advertise URL's host: that is the address the operator said machines use.
 */
export function advertisedTalosEndpoints(
  advertiseUrl: string,
  ports: { events?: number | null; kmsg?: number | null },
): TalosEndpoints {
  const host = new URL(advertiseUrl).hostname; // IPv6 keeps its brackets: [fd00::1]
  return {
    events: ports.events ? `${host}:${ports.events}` : null,
    kmsg: ports.kmsg ? `tcp://${host}:${ports.kmsg}/` : null,
  };
}

/** EventSinkConfig and KmsgLogConfig exist since Talos v1.5 (multi-document configs). */
const supportsProgressDocuments = (talosVersion: string) => {
  const [major, minor] = parseTalosVersion(talosVersion);
  return major > 1 || (major === 1 && minor >= 5);
};

/** Name of metalboot's KmsgLogConfig document (operators may add their own beside it). */
export const KMSG_DOCUMENT_NAME = 'metalboot';

const NOT_ADVERTISED: TalosEndpoints = { events: null, kmsg: null };

/**
 * Points every machine at the listeners: kernel arguments for the install boot (before Talos has a
 * config) and config documents for every boot after it (kernel arguments do not survive the
 * install on UEFI/systemd-boot; documents win over arguments).
 *
 * The composition root (server.ts) creates one before the core and passes `kernelArgs` and
 * `documents` to createCore as its providers; startTalosListeners `advertise`s the endpoints once
 * its listeners are bound (their ports are known only then) and withdraws them on close. Until
 * then both providers give nothing.
 */
export class TalosEndpointProviders {
  private current: TalosEndpoints = NOT_ADVERTISED;

  /** What machines are told now (nothing while no listener runs). */
  get endpoints(): TalosEndpoints {
    return this.current;
  }

  /** Tell machines about these endpoints from now on; returns a function that withdraws them. */
  advertise(endpoints: TalosEndpoints): () => void {
    this.current = endpoints;
    return () => {
      if (this.current === endpoints) this.current = NOT_ADVERTISED;
    };
  }

  readonly kernelArgs: KernelArgProvider = () => {
    const endpoints = this.current;
    return [
      ...(endpoints.events ? [`talos.events.sink=${endpoints.events}`] : []),
      ...(endpoints.kmsg ? [`talos.logging.kernel=${endpoints.kmsg}`] : []),
    ];
  };

  readonly documents: DocumentProvider = (_m, c) => {
    const endpoints = this.current;
    if (!supportsProgressDocuments(c.talosVersion)) return [];
    const docs: ConfigMap[] = [];
    if (endpoints.events) docs.push({ apiVersion: 'v1alpha1', kind: 'EventSinkConfig', endpoint: endpoints.events });
    if (endpoints.kmsg)
      docs.push({ apiVersion: 'v1alpha1', kind: 'KmsgLogConfig', name: KMSG_DOCUMENT_NAME, url: endpoints.kmsg });
    return docs;
  };
}
