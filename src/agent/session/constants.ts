// Numbers the session parts share.

export const DEFAULT_FPS = 15;
export const DEFAULT_QUALITY = 60;
