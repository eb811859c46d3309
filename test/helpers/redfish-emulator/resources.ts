/**
 * The JSON of each resource, shaped after DMTF's schemas (ServiceRoot v1_5, ComputerSystemCollection,
 * ComputerSystem v1_13, SessionService v1_1, SessionCollection, Session v1_3) and the Redfish error
 * body of DSP0266 §9.6 with Base message registry MessageIds. Written for this emulator, not copied.
 */
import { BOOT_TARGETS, type EmulatorState, type Session, type SystemState } from './state.js';

const V1 = '/redfish/v1';

export function serviceRoot(): object {
  return {
    '@odata.context': `${V1}/$metadata#ServiceRoot.ServiceRoot`,
    '@odata.id': `${V1}/`,
    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
    Id: 'RootService',
    Name: 'Root Service',
    RedfishVersion: '1.6.0',
    UUID: '92384634-2938-2342-8820-489239905423',
    Systems: { '@odata.id': `${V1}/Systems` },
    SessionService: { '@odata.id': `${V1}/SessionService` },
    Links: { Sessions: { '@odata.id': `${V1}/SessionService/Sessions` } },
  };
}

export function systemPath(sys: SystemState): string {
  return `${V1}/Systems/${encodeURIComponent(sys.id)}`;
}

export function systemCollection(state: EmulatorState): object {
  return {
    '@odata.context': `${V1}/$metadata#ComputerSystemCollection.ComputerSystemCollection`,
    '@odata.id': `${V1}/Systems`,
    '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
    Name: 'Computer System Collection',
    'Members@odata.count': state.systems.length,
    Members: state.systems.map((s) => ({ '@odata.id': systemPath(s) })),
  };
}

export function etag(sys: SystemState): string {
  return `W/"${sys.generation}"`;
}

export function computerSystem(sys: SystemState): object {
  const path = systemPath(sys);
  return {
    '@odata.context': `${V1}/$metadata#ComputerSystem.ComputerSystem`,
    '@odata.id': path,
    '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem',
    '@odata.etag': etag(sys),
    Id: sys.id,
    Name: `Emulated server ${sys.id}`,
    SystemType: 'Physical',
    Manufacturer: 'metalboot test',
    Model: 'Redfish emulator',
    SerialNumber: `EMU-${sys.id}`,
    UUID: `00000000-0000-4000-8000-${String(sys.id).padStart(12, '0').slice(-12)}`,
    PowerState: sys.power,
    Status: { State: 'Enabled', Health: 'OK' },
    Boot: {
      BootSourceOverrideEnabled: sys.boot.enabled,
      BootSourceOverrideTarget: sys.boot.target,
      'BootSourceOverrideTarget@Redfish.AllowableValues': [...BOOT_TARGETS],
      BootSourceOverrideMode: sys.boot.mode,
    },
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${path}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': [...sys.resetTypes],
      },
    },
  };
}

export function sessionService(): object {
  return {
    '@odata.context': `${V1}/$metadata#SessionService.SessionService`,
    '@odata.id': `${V1}/SessionService`,
    '@odata.type': '#SessionService.v1_1_8.SessionService',
    Id: 'SessionService',
    Name: 'Session Service',
    ServiceEnabled: true,
    SessionTimeout: 600,
    Sessions: { '@odata.id': `${V1}/SessionService/Sessions` },
  };
}

export function sessionPath(s: Session): string {
  return `${V1}/SessionService/Sessions/${s.id}`;
}

export function sessionCollection(state: EmulatorState): object {
  const members = [...state.sessions.values()];
  return {
    '@odata.context': `${V1}/$metadata#SessionCollection.SessionCollection`,
    '@odata.id': `${V1}/SessionService/Sessions`,
    '@odata.type': '#SessionCollection.SessionCollection',
    Name: 'Session Collection',
    'Members@odata.count': members.length,
    Members: members.map((s) => ({ '@odata.id': sessionPath(s) })),
  };
}

export function session(s: Session): object {
  return {
    '@odata.context': `${V1}/$metadata#Session.Session`,
    '@odata.id': sessionPath(s),
    '@odata.type': '#Session.v1_3_0.Session',
    Id: s.id,
    Name: 'User Session',
    UserName: s.user,
  };
}

/** A Redfish error body: a general code and message, and the Base registry message that says why. */
export function redfishError(messageId: string, message: string, resolution = 'None.'): object {
  return {
    error: {
      code: 'Base.1.0.GeneralError',
      message: 'A general error has occurred. See ExtendedInfo for more information.',
      '@Message.ExtendedInfo': [
        {
          '@odata.type': '#Message.v1_0_0.Message',
          MessageId: `Base.1.0.${messageId}`,
          Message: message,
          Severity: 'Critical',
          Resolution: resolution,
        },
      ],
    },
  };
}
