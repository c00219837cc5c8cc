/*
 * The C layer compiled for macOS with macOS's own headers (zig's bundled
 * SDK headers, by scripts/darwin.mjs): compiling this file at all proves
 * the macOS branches were the ones taken. Nothing here runs.
 */
#include "../../native/keepalive_posix.c"

#ifndef __APPLE__
#error "not compiled for macOS"
#endif

/* Idle through TCP_KEEPALIVE (0x10): macOS has no TCP_KEEPIDLE. */
_Static_assert(TKA_OPT_IDLE == 0x10, "idle must be set with TCP_KEEPALIVE (0x10)");
_Static_assert(TCP_KEEPINTVL == 0x101, "interval is TCP_KEEPINTVL (0x101)");
_Static_assert(TCP_KEEPCNT == 0x102, "count is TCP_KEEPCNT (0x102)");

/* No TCP_USER_TIMEOUT: the slot stays -1 and userTimeout is refused. */
#ifdef TCP_USER_TIMEOUT
#error "macOS headers define TCP_USER_TIMEOUT: the refusal path was not compiled"
#endif

/* No SO_PROTOCOL: tka_kind decides from getsockname and SO_TYPE. */
#ifdef SO_PROTOCOL
#error "macOS headers define SO_PROTOCOL: the getsockname path was not compiled"
#endif

/* No TCP_INFO reading on macOS (its TCP_CONNECTION_INFO is another struct). */
#ifdef __linux__
#error "__linux__ defined for a macOS build"
#endif

int tka_darwin_probe(void) { return tka_capabilities(); }
