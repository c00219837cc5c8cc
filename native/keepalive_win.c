/*
 * Windows: Node gives a TCP socket no descriptor (its libuv handle keeps the
 * SOCKET to itself), so there is nothing here to call setsockopt on. The
 * TypeScript layer goes through Node's own setKeepAlive instead and never
 * calls these; they exist so the one binding links everywhere, and answer
 * with the error a caller would branch on should anything reach them:
 * ERROR_NOT_SUPPORTED, which libuv maps to ENOTSUP. (WSAEOPNOTSUPP, the
 * obvious choice, has no entry in libuv's table and reaches JavaScript as
 * UNKNOWN; scripts/windows.mjs checks the mapping under wine.)
 */
#include "keepalive.h"

#include <windows.h>

static int tka_unavailable(tka_where *where, const char *syscall, const char *option) {
  where->syscall = syscall;
  where->option = option;
  return ERROR_NOT_SUPPORTED;
}

int tka_capabilities(void) { return 0; }

int tka_kind(int fd, int *kind, tka_where *where) {
  (void)fd;
  (void)kind;
  return tka_unavailable(where, "getsockopt", "SO_PROTOCOL");
}

int tka_set(int fd, const tka_values *values, tka_where *where) {
  (void)fd;
  (void)values;
  return tka_unavailable(where, "setsockopt", "SO_KEEPALIVE");
}

int tka_get(int fd, tka_values *values, tka_where *where) {
  (void)fd;
  (void)values;
  return tka_unavailable(where, "getsockopt", "SO_KEEPALIVE");
}

int tka_tcp_info(int fd, double out[TKA_INFO_FIELDS], tka_where *where) {
  (void)fd;
  (void)out;
  return tka_unavailable(where, "getsockopt", "TCP_INFO");
}

int tka_pidfd_getfd(int pid, int target_fd, int *out_fd, tka_where *where) {
  (void)pid;
  (void)target_fd;
  (void)out_fd;
  return tka_unavailable(where, "pidfd_getfd", NULL);
}

int tka_close(int fd) {
  (void)fd;
  return ERROR_NOT_SUPPORTED;
}
