/*
 * The system layer: plain C over setsockopt/getsockopt, no JavaScript.
 * Every function returns 0 on success or an errno value, and on failure
 * names the system call and option in *where so the caller can report it.
 */
#ifndef TCP_KEEPALIVE_H
#define TCP_KEEPALIVE_H

#ifdef __cplusplus
extern "C" {
#endif

/* A field set to TKA_LEAVE is neither written nor, on read, known. */
#define TKA_LEAVE (-1)

typedef struct {
  int enabled;      /* SO_KEEPALIVE: 0 or 1 */
  int idle;         /* seconds before the first probe */
  int interval;     /* seconds between probes */
  int count;        /* unanswered probes before the connection is dropped */
  int user_timeout; /* TCP_USER_TIMEOUT, milliseconds, 0 = system default */
} tka_values;

typedef struct {
  const char *syscall; /* "setsockopt", "getsockopt", "pidfd_open", ... */
  const char *option;  /* "TCP_KEEPINTVL", ... or NULL */
} tka_where;

/* What a descriptor is, as far as keepalive cares. */
enum { TKA_KIND_TCP = 0, TKA_KIND_UNIX = 1, TKA_KIND_OTHER = 2 };

/* Fields of TCP_INFO the package reports, in this order. Times are in
 * milliseconds except rtt/rttvar/rto, which the kernel gives in
 * microseconds. tka_tcp_info writes NaN for a field the kernel's answer did
 * not reach (a shorter struct tcp_info than the headers', as older kernels
 * and emulators return) and for every field where there is no TCP_INFO. */
enum {
  TKA_INFO_STATE,
  TKA_INFO_PROBES,
  TKA_INFO_BACKOFF,
  TKA_INFO_RETRANSMITS,
  TKA_INFO_UNACKED,
  TKA_INFO_TOTAL_RETRANS,
  TKA_INFO_LAST_DATA_SENT,
  TKA_INFO_LAST_DATA_RECV,
  TKA_INFO_LAST_ACK_RECV,
  TKA_INFO_RTO,
  TKA_INFO_RTT,
  TKA_INFO_RTTVAR,
  TKA_INFO_FIELDS
};

/* Field flags: which of tka_values the platform can set and read. */
#define TKA_CAN_IDLE 1
#define TKA_CAN_INTERVAL 2
#define TKA_CAN_COUNT 4
#define TKA_CAN_USER_TIMEOUT 8
#define TKA_CAN_TCP_INFO 16
#define TKA_CAN_PIDFD 32

int tka_capabilities(void);
int tka_kind(int fd, int *kind, tka_where *where);
int tka_set(int fd, const tka_values *values, tka_where *where);
int tka_get(int fd, tka_values *values, tka_where *where);
int tka_tcp_info(int fd, double out[TKA_INFO_FIELDS], tka_where *where);
int tka_pidfd_getfd(int pid, int target_fd, int *out_fd, tka_where *where);
int tka_close(int fd);

#ifdef __cplusplus
}
#endif

#endif
