/*
 * The option macros of macOS's <netinet/tcp.h> (XNU bsd/netinet/tcp.h),
 * over Linux's header, so keepalive_posix.c's preprocessor branches for
 * macOS can be compiled and exercised on Linux. Only what the shim tests
 * matters: macOS has TCP_KEEPALIVE (idle), TCP_KEEPINTVL and TCP_KEEPCNT,
 * and no TCP_KEEPIDLE, TCP_USER_TIMEOUT or Linux's TCP_INFO.
 */
#include_next <netinet/tcp.h>
#undef TCP_KEEPIDLE
#undef TCP_KEEPINTVL
#undef TCP_KEEPCNT
#undef TCP_USER_TIMEOUT
#undef TCP_INFO
#define TCP_KEEPALIVE 0x10
#define TCP_KEEPINTVL 0x101
#define TCP_KEEPCNT 0x102
