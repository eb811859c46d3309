/**
 * The few protobuf messages metalboot needs from Talos, written from Talos's
 * `api/machine/machine.proto` and `api/common/common.proto` and SideroLink's
 * `api/events/events.proto` (field numbers and enum values as upstream; everything else left out).
 * Kept as text in a module, not as .proto files, so the built server (dist/) carries it.
 */

/** `common.Error`, carried by SequenceEvent. */
export const COMMON_PROTO = `
syntax = "proto3";
package common;

enum Code {
  FATAL = 0;
  LOCKED = 1;
  CANCELED = 2;
}

message Error {
  Code code = 1;
  string message = 2;
}
`;

/** The event payloads Talos publishes (`type.googleapis.com/machine.<Message>`). */
export const MACHINE_PROTO = `
syntax = "proto3";
package machine;

message SequenceEvent {
  string sequence = 1;
  enum Action {
    NOOP = 0;
    START = 1;
    STOP = 2;
  }
  Action action = 2;
  common.Error error = 3;
}

message PhaseEvent {
  string phase = 1;
  enum Action {
    START = 0;
    STOP = 1;
  }
  Action action = 2;
}

message TaskEvent {
  string task = 1;
  enum Action {
    START = 0;
    STOP = 1;
  }
  Action action = 2;
}

message ServiceHealth {
  bool unknown = 1;
  bool healthy = 2;
  string last_message = 3;
}

message ServiceStateEvent {
  string service = 1;
  enum Action {
    INITIALIZED = 0;
    PREPARING = 1;
    WAITING = 2;
    RUNNING = 3;
    STOPPING = 4;
    FINISHED = 5;
    FAILED = 6;
    SKIPPED = 7;
    STARTING = 8;
  }
  Action action = 2;
  string message = 3;
  ServiceHealth health = 4;
}

message ConfigLoadErrorEvent {
  string error = 1;
}

message AddressEvent {
  string hostname = 1;
  repeated string addresses = 2;
}

message MachineStatusEvent {
  message MachineStatus {
    message UnmetCondition {
      string name = 1;
      string reason = 2;
    }
    bool ready = 1;
    repeated UnmetCondition unmet_conditions = 2;
  }
  enum MachineStage {
    UNKNOWN = 0;
    BOOTING = 1;
    INSTALLING = 2;
    MAINTENANCE = 3;
    RUNNING = 4;
    REBOOTING = 5;
    SHUTTING_DOWN = 6;
    RESETTING = 7;
    UPGRADING = 8;
  }
  MachineStage stage = 1;
  MachineStatus status = 2;
}
`;

/** The sink Talos dials: `/events.EventSinkService/Publish`, plain TCP, no TLS. */
export const EVENTS_PROTO = `
syntax = "proto3";
package events;

import "google/protobuf/any.proto";

message EventRequest {
  google.protobuf.Any data = 1;
  string id = 2;
  string actor_id = 3;
}

message EventResponse {}

service EventSinkService {
  rpc Publish(EventRequest) returns (EventResponse);
}
`;
