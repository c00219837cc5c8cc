// Every public function and type, loaded together on the first call of any
// of them through index.ts (the entry point, which loads nothing at first).
export { setKeepalive, getKeepalive, type Target } from './keepalive.js';
export { keepaliveFor, type KeepaliveOptions, type KeepaliveSet } from './options.js';
export type { KeepaliveSettings } from './socket.js';
export { systemDefaults, detectionTime, type SystemDefaults, type DetectionSettings } from './defaults.js';
export { setDefaultKeepalive, type ConnectionInfo, type DefaultKeepaliveConfig, type Direction } from './defaults-process.js';
export { capabilities, type Capabilities, type FieldCapability, type Range, type Readback } from './capabilities.js';
export type { PartialKeepaliveSettings, ReadOptions } from './reading.js';
export { fromLibpq, type LibpqParams } from './libpq.js';
export {
  CONNECTION_LOST_CHANNEL,
  lossReport,
  onConnectionLost,
  type ConnectionLost,
  type ConnectionLostMessage,
  type LossCause,
} from './cause.js';
export { getKeepaliveState, type KeepaliveState, type TcpState } from './state.js';
export { setProcessKeepalive, type ProcessTarget, type ProcessKeepaliveOptions, type ProcessKeepaliveResult, type ProcessConnection, type LiveValues, type LiveError } from './live.js';
