// What the orchestrator (bench/run.ts, host namespace) asks the load generator
// (bench/lib/generator.ts, client namespace) to do, and what comes back.
import type { Percentiles } from './stats.js';

export interface StormJob {
  kind: 'storm';
  serverIp: string;
  /** First machine index (identity, see machineIdentity) and count. */
  first: number;
  machines: number;
  /** Address reserved for machine i (already configured on the client interface). */
  ips: string[];
  hostnames: string[];
  tftpFile: string;
  blksize: number;
  sizes: { tftp: number; kernel: number; initramfs: number };
  /** Machines power on within this many ms ("the same second"), at fixed pseudo-random offsets. */
  spreadMs: number;
  /** Whole round bound. */
  deadlineMs: number;
}

export interface DhcpJob {
  kind: 'dhcp';
  first: number;
  count: number;
  concurrency: number;
  timeoutsMs: number[];
  deadlineMs: number;
}

export interface TftpJob {
  kind: 'tftp';
  serverIp: string;
  file: string;
  sha256: string;
  size: number;
  transfers: number;
  blksize: number;
  timeoutMs: number;
  deadlineMs: number;
}

export interface HttpBulkJob {
  kind: 'http-bulk';
  url: string;
  concurrency: number;
  size: number;
  deadlineMs: number;
  /** Download with one curl process each (the unpinned comparison, as an operator would measure), not node's client. */
  curl?: boolean;
}

export interface RenderJob {
  kind: 'render';
  base: string;
  /** `pair`: /ipxe?mac= then the config URL from its script (both counted); `hello`: GET /hello. */
  mode: 'pair' | 'hello';
  /** Registered machines to pick from (identities first..first+machines-1). */
  first: number;
  machines: number;
  connections: number;
  durationS: number;
}

/** Registers a cluster and machines through metalboot's admin API (as an operator would). */
export interface RegisterJob {
  kind: 'register';
  base: string;
  token: string;
  /** Absent: the cluster exists already (a second instance on the same database). */
  cluster?: Record<string, unknown>;
  machines: Array<Record<string, unknown>>;
  concurrency: number;
}

export type Job = StormJob | DhcpJob | TftpJob | HttpBulkJob | RenderJob | RegisterJob | HostileJob;

export interface Failure {
  machine?: number;
  phase: string;
  error: string;
}

export interface PhaseStats extends Percentiles {
  retries: number;
  failures: number;
}

export interface StormResult {
  kind: 'storm';
  wallMs: number;
  machines: number;
  ok: number;
  failed: number;
  retries: number;
  phases: Record<string, PhaseStats>;
  /** First failures, for the report. */
  failures: Failure[];
  bytes: number;
}

export interface DhcpResult {
  kind: 'dhcp';
  wallMs: number;
  ok: number;
  failed: number;
  retries: number;
  doraPerSec: number;
  latency: Percentiles;
  failures: Failure[];
  strayReplies: number;
}

export interface TftpResult {
  kind: 'tftp';
  wallMs: number;
  ok: number;
  failed: number;
  latency: Percentiles;
  failures: Failure[];
  mbitPerSec: number;
}

export interface HttpBulkResult {
  kind: 'http-bulk';
  wallMs: number;
  ok: number;
  failed: number;
  bytes: number;
  mbytePerSec: number;
  latency: Percentiles;
  failures: Failure[];
}

export interface RenderResult {
  kind: 'render';
  mode: 'pair' | 'hello';
  /** autocannon's numbers over all requests (a pair counts two). */
  reqPerSec: number;
  requests: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Per request type, timed around each request by the runner (ms). */
  script?: Percentiles;
  config?: Percentiles;
  hello?: Percentiles;
  /** Unexpected bodies (script without a config URL, config without the hostname). */
  bad: number;
}

/** `hostile`: /ipxe?mac= at full speed, the one registered machine or a random MAC each time. */
export interface HostileJob {
  kind: 'hostile';
  base: string;
  /** The registered machine's identity (machineIdentity). */
  registered: number;
  /** Share of requests with a random MAC (discovery), 0..1. */
  randomShare: number;
  connections: number;
  durationS: number;
}

export interface HostileResult {
  kind: 'hostile';
  reqPerSec: number;
  requests: number;
  /** Requests for the registered machine (an install script each) and for random MACs. */
  registered: number;
  random: number;
  latency: { p50: number; p99: number; max: number };
  errors: number;
  non2xx: number;
  /** Registered-machine answers without a config URL. */
  bad: number;
}

export interface RegisterResult {
  kind: 'register';
  ms: number;
  registered: number;
}

export type JobResult =
  | StormResult
  | DhcpResult
  | TftpResult
  | HttpBulkResult
  | RenderResult
  | RegisterResult
  | HostileResult;
