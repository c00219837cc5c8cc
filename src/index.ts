// The package's entry point, and all that `require('tcp-keepalive')` or
// `import 'tcp-keepalive'` loads: each function loads the rest of the
// package (api.ts and what it imports) on its first call, and the native
// binary is loaded on the first call that needs it (native.ts). Loading the
// package therefore costs one small file, whoever loads it: an application
// that calls it later, a module that only re-exports it, a tool that lists
// its exports. Every call after the first costs one more function call.
import type * as Api from './api.js';

export type {
  Target,
  KeepaliveOptions,
  KeepaliveSet,
  KeepaliveSettings,
  SystemDefaults,
  DetectionSettings,
  ConnectionInfo,
  DefaultKeepaliveConfig,
  Direction,
  Capabilities,
  FieldCapability,
  Range,
  Readback,
  PartialKeepaliveSettings,
  ReadOptions,
  LibpqParams,
  ConnectionLost,
  ConnectionLostMessage,
  LossCause,
  KeepaliveState,
  TcpState,
  ProcessTarget,
  ProcessKeepaliveOptions,
  ProcessKeepaliveResult,
  ProcessConnection,
  LiveValues,
  LiveError,
} from './api.js';

let api: typeof Api | undefined;

function load(): typeof Api {
  return (api ??= require('./api.js') as typeof Api);
}

/** The diagnostics channel that reports lost managed connections (the same string as cause.ts's). */
export const CONNECTION_LOST_CHANNEL: typeof Api.CONNECTION_LOST_CHANNEL = 'tcp-keepalive:connection-lost';

// Each wrapper passes its arguments on as they came (setKeepalive tells its
// forms apart by how many there are) and keeps the name a stack trace shows.

export const setKeepalive = function setKeepalive() {
  return Reflect.apply((api ?? load()).setKeepalive, undefined, arguments);
} as typeof Api.setKeepalive;

export const getKeepalive = function getKeepalive() {
  return Reflect.apply((api ?? load()).getKeepalive, undefined, arguments);
} as typeof Api.getKeepalive;

export const keepaliveFor = function keepaliveFor() {
  return Reflect.apply(load().keepaliveFor, undefined, arguments);
} as typeof Api.keepaliveFor;

export const systemDefaults = function systemDefaults() {
  return Reflect.apply(load().systemDefaults, undefined, arguments);
} as typeof Api.systemDefaults;

export const detectionTime = function detectionTime() {
  return Reflect.apply(load().detectionTime, undefined, arguments);
} as typeof Api.detectionTime;

export const setDefaultKeepalive = function setDefaultKeepalive() {
  return Reflect.apply(load().setDefaultKeepalive, undefined, arguments);
} as typeof Api.setDefaultKeepalive;

export const capabilities = function capabilities() {
  return Reflect.apply(load().capabilities, undefined, arguments);
} as typeof Api.capabilities;

export const fromLibpq = function fromLibpq() {
  return Reflect.apply(load().fromLibpq, undefined, arguments);
} as typeof Api.fromLibpq;

export const lossReport = function lossReport() {
  return Reflect.apply(load().lossReport, undefined, arguments);
} as typeof Api.lossReport;

export const onConnectionLost = function onConnectionLost() {
  return Reflect.apply(load().onConnectionLost, undefined, arguments);
} as typeof Api.onConnectionLost;

export const getKeepaliveState = function getKeepaliveState() {
  return Reflect.apply(load().getKeepaliveState, undefined, arguments);
} as typeof Api.getKeepaliveState;

export const setProcessKeepalive = function setProcessKeepalive() {
  return Reflect.apply(load().setProcessKeepalive, undefined, arguments);
} as typeof Api.setProcessKeepalive;
