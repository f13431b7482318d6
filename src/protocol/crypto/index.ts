// The session's cryptographic core (docs/security.md): key exchange, sealing, replay window.
export * from './keys.js';
export * from './replay-window.js';
export * from './sealed-channel.js';
