export { setKeepalive, getKeepalive, type Target } from './keepalive.js';
export type { KeepaliveOptions } from './options.js';
export type { KeepaliveSettings } from './socket.js';
export { systemDefaults, detectionTime, type SystemDefaults, type DetectionSettings } from './defaults.js';
export { getKeepaliveState, type KeepaliveState, type TcpState } from './state.js';
