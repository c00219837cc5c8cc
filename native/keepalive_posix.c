/*
 * Keepalive options on POSIX systems: Linux, macOS and FreeBSD, whose
 * spellings of the same options are chosen below at compile time so no
 * system needs a second copy of the logic. An option a system lacks (macOS
 * and FreeBSD have no TCP_USER_TIMEOUT) is refused with ENOPROTOOPT before
 * any system call; the TypeScript layer refuses it earlier still.
 */
#define _GNU_SOURCE
#include "keepalive.h"

/* BSD order: netinet/tcp.h uses types from sys/types.h on macOS and FreeBSD. */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#endif

/* The option that sets the idle time. macOS calls it TCP_KEEPALIVE (0x10)
 * and has no TCP_KEEPIDLE; it is checked first because on other systems
 * TCP_KEEPALIVE, where defined, means something else. */
#if defined(__APPLE__) && defined(TCP_KEEPALIVE)
#define TKA_OPT_IDLE TCP_KEEPALIVE
#define TKA_OPT_IDLE_NAME "TCP_KEEPALIVE"
#elif defined(TCP_KEEPIDLE)
#define TKA_OPT_IDLE TCP_KEEPIDLE
#define TKA_OPT_IDLE_NAME "TCP_KEEPIDLE"
#endif

typedef struct {
  int level;
  int name;
  const char *label;
} tka_option;

/* The order in which tka_set writes and tka_get reads; it matches the field
 * order of tka_values. A platform without an option leaves its slot at -1. */
static const tka_option tka_options[5] = {
  {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"},
#ifdef TKA_OPT_IDLE
  {IPPROTO_TCP, TKA_OPT_IDLE, TKA_OPT_IDLE_NAME},
#else
  {IPPROTO_TCP, -1, "TCP_KEEPIDLE"},
#endif
#ifdef TCP_KEEPINTVL
  {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"},
#else
  {IPPROTO_TCP, -1, "TCP_KEEPINTVL"},
#endif
#ifdef TCP_KEEPCNT
  {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"},
#else
  {IPPROTO_TCP, -1, "TCP_KEEPCNT"},
#endif
#ifdef TCP_USER_TIMEOUT
  {IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"},
#else
  {IPPROTO_TCP, -1, "TCP_USER_TIMEOUT"},
#endif
};

static int *tka_slot(tka_values *v, int i) {
  switch (i) {
    case 0: return &v->enabled;
    case 1: return &v->idle;
    case 2: return &v->interval;
    case 3: return &v->count;
    default: return &v->user_timeout;
  }
}

static int tka_fail(tka_where *where, const char *syscall, const char *option) {
  int err = errno;
  where->syscall = syscall;
  where->option = option;
  return err ? err : EIO;
}

int tka_capabilities(void) {
  int caps = 0;
  if (tka_options[1].name >= 0) caps |= TKA_CAN_IDLE;
  if (tka_options[2].name >= 0) caps |= TKA_CAN_INTERVAL;
  if (tka_options[3].name >= 0) caps |= TKA_CAN_COUNT;
  if (tka_options[4].name >= 0) caps |= TKA_CAN_USER_TIMEOUT;
#if defined(__linux__) && defined(TCP_INFO)
  caps |= TKA_CAN_TCP_INFO;
#endif
#if defined(__linux__) && defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  caps |= TKA_CAN_PIDFD;
#endif
  return caps;
}

int tka_kind(int fd, int *kind, tka_where *where) {
#ifdef SO_PROTOCOL
  int protocol = 0;
  socklen_t len = sizeof protocol;
  if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) != 0) {
    return tka_fail(where, "getsockopt", "SO_PROTOCOL");
  }
  if (protocol == IPPROTO_TCP) {
    *kind = TKA_KIND_TCP;
    return 0;
  }
#endif
  struct sockaddr_storage addr;
  socklen_t addr_len = sizeof addr;
  if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
    return tka_fail(where, "getsockname", NULL);
  }
  if (addr.ss_family == AF_UNIX) {
    *kind = TKA_KIND_UNIX;
    return 0;
  }
#ifdef SO_PROTOCOL
  *kind = TKA_KIND_OTHER;
#else
  int type = 0;
  socklen_t type_len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0) {
    return tka_fail(where, "getsockopt", "SO_TYPE");
  }
  *kind = (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) &&
                  type == SOCK_STREAM
              ? TKA_KIND_TCP
              : TKA_KIND_OTHER;
#endif
  return 0;
}

int tka_set(int fd, const tka_values *values, tka_where *where) {
  tka_values v = *values;
  /* Interval, count and user timeout first, then idle, then SO_KEEPALIVE.
   * On a connection with keepalive already on, a new idle re-arms the timer
   * at once when the connection has been silent for longer than it, so the
   * probes it starts must already find the new interval and count; and
   * SO_KEEPALIVE last arms the timer from the new idle time. */
  static const int order[5] = {2, 3, 4, 1, 0};
  for (int i = 0; i < 5; i++) {
    int slot = order[i];
    int value = *tka_slot(&v, slot);
    if (value == TKA_LEAVE) continue;
    const tka_option *o = &tka_options[slot];
    if (o->name < 0) {
      errno = ENOPROTOOPT;
      return tka_fail(where, "setsockopt", o->label);
    }
    if (setsockopt(fd, o->level, o->name, &value, sizeof value) != 0) {
      return tka_fail(where, "setsockopt", o->label);
    }
  }
  return 0;
}

int tka_get(int fd, tka_values *values, tka_where *where) {
  for (int i = 0; i < 5; i++) {
    const tka_option *o = &tka_options[i];
    int *slot = tka_slot(values, i);
    *slot = TKA_LEAVE;
    if (o->name < 0) continue;
    int value = 0;
    socklen_t len = sizeof value;
    if (getsockopt(fd, o->level, o->name, &value, &len) != 0) {
      return tka_fail(where, "getsockopt", o->label);
    }
    *slot = i == 0 ? value != 0 : value;
  }
  return 0;
}

int tka_tcp_info(int fd, double out[TKA_INFO_FIELDS], tka_where *where) {
  for (int i = 0; i < TKA_INFO_FIELDS; i++) out[i] = NAN;
#if defined(__linux__) && defined(TCP_INFO)
  /* Zeroed, and each field read only if the kernel's answer reached it:
   * older kernels (and emulators: qemu-user gives 4 bytes) return a shorter
   * struct tcp_info than these headers describe. Fields past the returned
   * length stay NaN, which the layers above report as unknown. */
  struct tcp_info info;
  memset(&info, 0, sizeof info);
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return tka_fail(where, "getsockopt", "TCP_INFO");
  }
#define TKA_INFO(slot, field) \
  out[slot] = len >= offsetof(struct tcp_info, field) + sizeof info.field ? (double)info.field : NAN
  TKA_INFO(TKA_INFO_STATE, tcpi_state);
  TKA_INFO(TKA_INFO_PROBES, tcpi_probes);
  TKA_INFO(TKA_INFO_BACKOFF, tcpi_backoff);
  TKA_INFO(TKA_INFO_RETRANSMITS, tcpi_retransmits);
  TKA_INFO(TKA_INFO_UNACKED, tcpi_unacked);
  TKA_INFO(TKA_INFO_TOTAL_RETRANS, tcpi_total_retrans);
  TKA_INFO(TKA_INFO_LAST_DATA_SENT, tcpi_last_data_sent);
  TKA_INFO(TKA_INFO_LAST_DATA_RECV, tcpi_last_data_recv);
  TKA_INFO(TKA_INFO_LAST_ACK_RECV, tcpi_last_ack_recv);
  TKA_INFO(TKA_INFO_RTO, tcpi_rto);
  TKA_INFO(TKA_INFO_RTT, tcpi_rtt);
  TKA_INFO(TKA_INFO_RTTVAR, tcpi_rttvar);
#undef TKA_INFO
  return 0;
#else
  (void)fd;
  errno = ENOPROTOOPT;
  return tka_fail(where, "getsockopt", "TCP_INFO");
#endif
}

int tka_pidfd_getfd(int pid, int target_fd, int *out_fd, tka_where *where) {
#if defined(__linux__) && defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return tka_fail(where, "pidfd_open", NULL);
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  int err = fd < 0 ? tka_fail(where, "pidfd_getfd", NULL) : 0;
  close(pidfd);
  if (err) return err;
  *out_fd = fd;
  return 0;
#else
  (void)pid;
  (void)target_fd;
  (void)out_fd;
  errno = ENOSYS;
  return tka_fail(where, "pidfd_getfd", NULL);
#endif
}

int tka_close(int fd) { return close(fd) == 0 ? 0 : errno; }
