// Numbers the session parts share.

/** Windows reports the wheel in 1/120ths of a notch; type-2 buttons 4/5 are one notch each. */
export const WHEEL_NOTCH = 120;

export const DEFAULT_FPS = 15;
export const DEFAULT_QUALITY = 60;
