/*
 * Linux only: what `tcp-keepalive ls` needs from the kernel in as few
 * system calls as possible. Plain C, no JavaScript; every function returns
 * 0 or an errno value.
 */
#ifndef TCP_KEEPALIVE_INSPECT_H
#define TCP_KEEPALIVE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One socket of a sock_diag dump, in host byte order except the addresses,
 * which stay in network order. 64 bytes, so a reader can index an array of
 * them with typed views. */
typedef struct {
  uint8_t family;      /* 4 or 6 */
  uint8_t state;       /* the kernel's TCP state number */
  uint8_t timer;       /* idiag_timer: 0 none, 1 retransmit, 2 keepalive, 3 timewait, 4 persist */
  uint8_t has_info;    /* 1 when probes and retransmits come from TCP_INFO */
  uint16_t local_port;
  uint16_t remote_port;
  uint8_t local[16];
  uint8_t remote[16];
  uint32_t uid;
  uint32_t inode;
  uint32_t recv_queue;
  uint32_t send_queue;
  uint32_t expires_ms; /* until the pending timer fires */
  uint8_t probes;      /* icsk_probes_out */
  uint8_t retransmits; /* icsk_retransmits */
  uint8_t reserved[2];
} tka_diag_record;

/* A growable array of bytes, released with tka_buffer_free. */
typedef struct {
  unsigned char *data;
  size_t length;
  size_t capacity;
} tka_buffer;

void tka_buffer_free(tka_buffer *buffer);

/* Every TCP socket of this network namespace whose state's bit (1 << state)
 * is in `states`, IPv4 then IPv6, as tka_diag_record entries appended to
 * *out. On failure *syscall names the call that failed. */
int tka_tcp_dump(uint32_t states, tka_buffer *out, const char **syscall);

/* The sockets among /proc/PID/fd: pairs of uint32 (fd, inode) appended to
 * *out. *denied counts the links that could not be read (EACCES). */
int tka_proc_sockets(int pid, tka_buffer *out, uint32_t *denied);

/* Reads the keepalive values of process pid's descriptors fds[i], each
 * checked to be the socket inodes[i], through pidfd_getfd. For each, six
 * ints in out: status (0, an errno value, or -1 when the descriptor is now
 * another file), enabled, idle, interval, count, user timeout. Returns an
 * errno value when the process itself cannot be reached (pidfd_open). */
int tka_read_sockets(int pid, const int32_t *fds, const double *inodes, size_t n, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif
