export { setKeepalive, getKeepalive, type Target } from './keepalive.js';
export type { KeepaliveOptions } from './options.js';
export type { KeepaliveSettings } from './socket.js';
export { systemDefaults, detectionTime, type SystemDefaults, type DetectionSettings } from './defaults.js';
export { setDefaultKeepalive, type ConnectionInfo, type DefaultKeepaliveConfig } from './defaults-process.js';
export { capabilities, type Capabilities, type FieldCapability, type Range, type Readback } from './capabilities.js';
export type { PartialKeepaliveSettings, ReadOptions } from './reading.js';
