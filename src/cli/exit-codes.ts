/** Exit statuses scripts can rely on (README "Exit status"). */
export const EXIT_OK = 0;
/** Findings at or above --fail-on. */
export const EXIT_FINDINGS = 1;
/** Unusable input or wrong usage. */
export const EXIT_USAGE = 2;
/** Export lost data (spans or metric points not delivered). */
export const EXIT_EXPORT_FAILED = 3;
