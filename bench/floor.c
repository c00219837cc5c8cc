/*
 * The floors the package is measured against, for `npm run bench` only.
 * It links the package's own C layer (native/keepalive_posix.c), so the
 * system calls are exactly the package's, and adds:
 *   set/get: the thinnest N-API entry point around them, no validation and
 *            no C++ wrapper, so the cost of crossing from JS is all that is
 *            left (the N-API floor);
 *   loopSet/loopGet: the same calls in a C loop timed in C (the kernel
 *            floor: what no binding of any kind can beat);
 *   loopSyscall: the cheapest system call, for scale;
 *   threadCpuNs: the thread's CPU clock, for timing on a shared machine.
 */
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "keepalive.h"

static int32_t arg_int(napi_env env, napi_value v) {
  int32_t out = 0;
  napi_get_value_int32(env, v, &out);
  return out;
}

static napi_value fail(napi_env env, int err) {
  char code[16];
  snprintf(code, sizeof code, "E%d", err);
  napi_throw_error(env, code, "system call failed");
  return NULL;
}

/* set(fd, enabled, idle, interval, count, userTimeout) */
static napi_value Set(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  tka_values v = {arg_int(env, argv[1]), arg_int(env, argv[2]), arg_int(env, argv[3]),
                  arg_int(env, argv[4]), arg_int(env, argv[5])};
  tka_where where;
  int err = tka_set(arg_int(env, argv[0]), &v, &where);
  return err ? fail(env, err) : NULL;
}

/* get(fd, out: Int32Array(5)) */
static napi_value Get(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  size_t length = 0;
  napi_get_typedarray_info(env, argv[1], NULL, &length, &data, NULL, NULL);
  if (length < 5) return fail(env, EINVAL);
  tka_values v;
  tka_where where;
  int err = tka_get(arg_int(env, argv[0]), &v, &where);
  if (err) return fail(env, err);
  int32_t *out = data;
  out[0] = v.enabled;
  out[1] = v.idle;
  out[2] = v.interval;
  out[3] = v.count;
  out[4] = v.user_timeout;
  return NULL;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static napi_value number(napi_env env, double value) {
  napi_value out;
  napi_create_double(env, value, &out);
  return out;
}

/* loopSet(fd, n, idleA, idleB, interval, count, userTimeout) -> ns per call;
 * idle alternates between idleA and idleB, as in the JS rows. */
static napi_value LoopSet(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd = arg_int(env, argv[0]);
  int n = arg_int(env, argv[1]);
  int idle[2] = {arg_int(env, argv[2]), arg_int(env, argv[3])};
  tka_values v = {1, 0, arg_int(env, argv[4]), arg_int(env, argv[5]), arg_int(env, argv[6])};
  tka_where where;
  int64_t start = now_ns();
  for (int i = 0; i < n; i++) {
    v.idle = idle[i & 1];
    int err = tka_set(fd, &v, &where);
    if (err) return fail(env, err);
  }
  return number(env, (double)(now_ns() - start) / n);
}

/* loopGet(fd, n) -> ns per call */
static napi_value LoopGet(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd = arg_int(env, argv[0]);
  int n = arg_int(env, argv[1]);
  tka_values v;
  tka_where where;
  int64_t start = now_ns();
  for (int i = 0; i < n; i++) {
    int err = tka_get(fd, &v, &where);
    if (err) return fail(env, err);
  }
  return number(env, (double)(now_ns() - start) / n);
}

/* threadCpuNs() -> CPU time of the calling thread, user and system: unlike
 * the wall clock it does not count time the thread spent waiting for a core
 * that other work on a shared machine held. */
static napi_value ThreadCpuNs(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return number(env, (double)t.tv_sec * 1e9 + t.tv_nsec);
}

/* loopSyscall(n) -> ns per getppid(): what entering the kernel at all costs
 * on this machine, the unit the floors above are made of. */
static napi_value LoopSyscall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int n = arg_int(env, argv[0]);
  int64_t start = now_ns();
  for (int i = 0; i < n; i++) syscall(SYS_getppid);
  return number(env, (double)(now_ns() - start) / n);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"set", NULL, Set, NULL, NULL, NULL, napi_default, NULL},
      {"get", NULL, Get, NULL, NULL, NULL, napi_default, NULL},
      {"loopSet", NULL, LoopSet, NULL, NULL, NULL, napi_default, NULL},
      {"loopGet", NULL, LoopGet, NULL, NULL, NULL, napi_default, NULL},
      {"loopSyscall", NULL, LoopSyscall, NULL, NULL, NULL, napi_default, NULL},
      {"threadCpuNs", NULL, ThreadCpuNs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
