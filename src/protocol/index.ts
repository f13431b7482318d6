// src/protocol: wire formats shared by the broker, the agent and the viewer. Pure functions, no I/O.
export * from './result.js';
export * from './virtual-keys.js';
export * from './control-messages.js';
export * from './datagram.js';
export * from './frame-ids.js';
export * from './chunker.js';
export * from './frame-reassembler.js';
export * from './signal-messages.js';
export * from './close-codes.js';
export * from './display-text.js';
export * from './crypto/index.js';
export * from './session-code.js';
export * from './customer-command.js';
export * from './tunnel-token.js';
export * from './ssh-host-key.js';
