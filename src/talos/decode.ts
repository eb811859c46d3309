import protobuf from 'protobufjs';
import type { TalosEvent, TalosEventEnvelope } from '../core/progress/interpret-events.js';
import { COMMON_PROTO, EVENTS_PROTO, MACHINE_PROTO } from './proto/talos-events.js';

const root = new protobuf.Root();
root.addJSON(protobuf.common.get('google/protobuf/any.proto')!.nested!);
for (const text of [COMMON_PROTO, MACHINE_PROTO, EVENTS_PROTO]) protobuf.parse(text, root, { keepCase: true });
root.resolveAll();

/** The protobuf types, for the sink and for tests that play Talos. */
export const talosTypes = {
  root,
  EventRequest: root.lookupType('events.EventRequest'),
  EventResponse: root.lookupType('events.EventResponse'),
};

const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: Number, defaults: true, arrays: true };

type Obj = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const obj = (v: unknown): Obj | null => (v && typeof v === 'object' ? (v as Obj) : null);

/** Payload decoders by message name; the result is what core/progress/interpret-events.ts understands. */
const PAYLOADS: Record<string, (o: Obj) => TalosEvent> = {
  SequenceEvent: (o) => {
    const err = obj(o.error);
    return {
      type: 'sequence',
      sequence: str(o.sequence),
      action: str(o.action),
      error: err ? { code: str(err.code), message: str(err.message) } : null,
    };
  },
  PhaseEvent: (o) => ({ type: 'phase', phase: str(o.phase), action: str(o.action) }),
  TaskEvent: (o) => ({ type: 'task', task: str(o.task), action: str(o.action) }),
  ServiceStateEvent: (o) => {
    const h = obj(o.health);
    return {
      type: 'service',
      service: str(o.service),
      action: str(o.action),
      message: str(o.message),
      health: h ? { unknown: h.unknown === true, healthy: h.healthy === true, lastMessage: str(h.last_message) } : null,
    };
  },
  MachineStatusEvent: (o) => {
    const status = obj(o.status);
    const unmet = Array.isArray(status?.unmet_conditions) ? (status.unmet_conditions as Obj[]) : [];
    return {
      type: 'machine-status',
      stage: str(o.stage),
      ready: status?.ready === true,
      unmetConditions: unmet.map((c) => ({ name: str(c.name), reason: str(c.reason) })),
    };
  },
  ConfigLoadErrorEvent: (o) => ({ type: 'config-load-error', error: str(o.error) }),
  AddressEvent: (o) => ({
    type: 'address',
    hostname: str(o.hostname),
    addresses: Array.isArray(o.addresses) ? o.addresses.map(str) : [],
  }),
};

export type DecodeResult =
  | { ok: true; envelope: TalosEventEnvelope }
  /** `request`: not an EventRequest at all; `payload`: an EventRequest whose event does not decode. */
  | { ok: false; part: 'request' | 'payload'; message: string; id?: string; typeUrl?: string };

/**
 * Decode one `EventRequest`. An unknown `type_url` is not an error (Talos adds event types over
 * time): it decodes with `event: null`.
 */
export function decodeEventRequest(bytes: Uint8Array): DecodeResult {
  let req: Obj;
  try {
    req = talosTypes.EventRequest.toObject(talosTypes.EventRequest.decode(bytes), TO_OBJECT) as Obj;
  } catch (err) {
    return { ok: false, part: 'request', message: (err as Error).message };
  }
  const data = obj(req.data);
  const id = str(req.id);
  const typeUrl = str(data?.type_url);
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const decoder = name.startsWith('machine.') ? PAYLOADS[name.slice('machine.'.length)] : undefined;
  const envelope: TalosEventEnvelope = { id, actorId: str(req.actor_id), typeUrl, event: null };
  if (!decoder) return { ok: true, envelope };
  try {
    const type = root.lookupType(name);
    const value = data?.value instanceof Uint8Array ? data.value : new Uint8Array();
    envelope.event = decoder(type.toObject(type.decode(value), TO_OBJECT) as Obj);
  } catch (err) {
    return { ok: false, part: 'payload', message: (err as Error).message, id, typeUrl };
  }
  return { ok: true, envelope };
}
