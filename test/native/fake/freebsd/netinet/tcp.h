/*
 * The option macros of FreeBSD's <netinet/tcp.h> (sys/netinet/tcp.h), over
 * Linux's header, so keepalive_posix.c's preprocessor branches for FreeBSD
 * can be compiled and exercised on Linux. FreeBSD has TCP_KEEPIDLE,
 * TCP_KEEPINTVL and TCP_KEEPCNT under its own numbers, a TCP_INFO with its
 * own struct (which the shim leaves alone), and no TCP_USER_TIMEOUT.
 */
#include_next <netinet/tcp.h>
#undef TCP_KEEPIDLE
#undef TCP_KEEPINTVL
#undef TCP_KEEPCNT
#undef TCP_USER_TIMEOUT
#undef TCP_INFO
#define TCP_KEEPIDLE 256
#define TCP_KEEPINTVL 512
#define TCP_KEEPCNT 1024
#define TCP_INFO 32
