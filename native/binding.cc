// The JavaScript glue: converts arguments and results, nothing else. Values
// arrive already validated by the TypeScript layer; a wrong type here still
// only throws, since node-addon-api checks every conversion.
#include <napi.h>

#include <string>

#include "keepalive.h"

#ifdef _WIN32
#include <uv.h>
#else
#include <errno.h>
#endif

namespace {

// The code and message Node gives for a system error number. On Windows
// libuv maps WSA* codes, and node.exe exports it. On POSIX the mapping is
// only -errno and a name, so it is done here: a binary that imports libuv
// fails to load, or aborts at the first failed call, in runtimes that
// implement N-API without libuv (Bun, Deno). Names and messages are libuv's,
// so errors read exactly as they do from Node.
struct SystemErrorName {
  int code;  // what Node puts in `errno`
  std::string name;
  std::string message;
};

#ifdef _WIN32
SystemErrorName NameSystemError(int err) {
  const int code = uv_translate_sys_error(err);
  return {code, uv_err_name(code), uv_strerror(code)};
}
#else
struct ErrnoEntry {
  int number;
  const char *name;
  const char *message;
};

#define TKA_ERRNO(name, message) {name, #name, message},
const ErrnoEntry kErrnoNames[] = {
    TKA_ERRNO(E2BIG, "argument list too long")
    TKA_ERRNO(EACCES, "permission denied")
    TKA_ERRNO(EADDRINUSE, "address already in use")
    TKA_ERRNO(EADDRNOTAVAIL, "address not available")
    TKA_ERRNO(EAFNOSUPPORT, "address family not supported")
    TKA_ERRNO(EAGAIN, "resource temporarily unavailable")
    TKA_ERRNO(EALREADY, "connection already in progress")
    TKA_ERRNO(EBADF, "bad file descriptor")
    TKA_ERRNO(EBUSY, "resource busy or locked")
    TKA_ERRNO(ECANCELED, "operation canceled")
    TKA_ERRNO(ECONNABORTED, "software caused connection abort")
    TKA_ERRNO(ECONNREFUSED, "connection refused")
    TKA_ERRNO(ECONNRESET, "connection reset by peer")
    TKA_ERRNO(EDESTADDRREQ, "destination address required")
    TKA_ERRNO(EEXIST, "file already exists")
    TKA_ERRNO(EFAULT, "bad address in system call argument")
    TKA_ERRNO(EFBIG, "file too large")
    TKA_ERRNO(EHOSTUNREACH, "host is unreachable")
    TKA_ERRNO(EINTR, "interrupted system call")
    TKA_ERRNO(EINVAL, "invalid argument")
    TKA_ERRNO(EIO, "i/o error")
    TKA_ERRNO(EISCONN, "socket is already connected")
    TKA_ERRNO(EISDIR, "illegal operation on a directory")
    TKA_ERRNO(ELOOP, "too many symbolic links encountered")
    TKA_ERRNO(EMFILE, "too many open files")
    TKA_ERRNO(EMSGSIZE, "message too long")
    TKA_ERRNO(ENAMETOOLONG, "name too long")
    TKA_ERRNO(ENETDOWN, "network is down")
    TKA_ERRNO(ENETUNREACH, "network is unreachable")
    TKA_ERRNO(ENFILE, "file table overflow")
    TKA_ERRNO(ENOBUFS, "no buffer space available")
    TKA_ERRNO(ENODEV, "no such device")
    TKA_ERRNO(ENOENT, "no such file or directory")
    TKA_ERRNO(ENOMEM, "not enough memory")
    TKA_ERRNO(ENOPROTOOPT, "protocol not available")
    TKA_ERRNO(ENOSPC, "no space left on device")
    TKA_ERRNO(ENOSYS, "function not implemented")
    TKA_ERRNO(ENOTCONN, "socket is not connected")
    TKA_ERRNO(ENOTDIR, "not a directory")
    TKA_ERRNO(ENOTEMPTY, "directory not empty")
    TKA_ERRNO(ENOTSOCK, "socket operation on non-socket")
    TKA_ERRNO(ENOTSUP, "operation not supported on socket")
    TKA_ERRNO(EOVERFLOW, "value too large for defined data type")
    TKA_ERRNO(EPERM, "operation not permitted")
    TKA_ERRNO(EPIPE, "broken pipe")
    TKA_ERRNO(EPROTO, "protocol error")
    TKA_ERRNO(EPROTONOSUPPORT, "protocol not supported")
    TKA_ERRNO(EPROTOTYPE, "protocol wrong type for socket")
    TKA_ERRNO(ERANGE, "result too large")
    TKA_ERRNO(EROFS, "read-only file system")
    TKA_ERRNO(ESHUTDOWN, "cannot send after transport endpoint shutdown")
    TKA_ERRNO(ESPIPE, "invalid seek")
    TKA_ERRNO(ESRCH, "no such process")
    TKA_ERRNO(ETIMEDOUT, "connection timed out")
    TKA_ERRNO(ETXTBSY, "text file is busy")
    TKA_ERRNO(EXDEV, "cross-device link not permitted")
    TKA_ERRNO(ENXIO, "no such device or address")
    TKA_ERRNO(EMLINK, "too many links")
    TKA_ERRNO(EHOSTDOWN, "host is down")
    TKA_ERRNO(ENOTTY, "inappropriate ioctl for device")
    TKA_ERRNO(EILSEQ, "illegal byte sequence")
    TKA_ERRNO(ESOCKTNOSUPPORT, "socket type not supported")
#ifdef ENONET
    TKA_ERRNO(ENONET, "machine is not on the network")
#endif
#ifdef EREMOTEIO
    TKA_ERRNO(EREMOTEIO, "remote I/O error")
#endif
#ifdef EFTYPE
    TKA_ERRNO(EFTYPE, "inappropriate file type or format")
#endif
#ifdef ENODATA
    TKA_ERRNO(ENODATA, "no data available")
#endif
#ifdef EUNATCH
    TKA_ERRNO(EUNATCH, "protocol driver not attached")
#endif
// Linux has one number for both; macOS and the BSDs return EOPNOTSUPP
// from setsockopt, which libuv leaves unnamed.
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
    TKA_ERRNO(EOPNOTSUPP, "operation not supported on socket")
#endif
};
#undef TKA_ERRNO

SystemErrorName NameSystemError(int err) {
  for (const ErrnoEntry &entry : kErrnoNames) {
    if (entry.number == err) return {-err, entry.name, entry.message};
  }
  // A number no table names: still a code to branch on, and the number.
  return {-err, "UNKNOWN", "unknown system error " + std::to_string(-err)};
}
#endif

// Throws the same shape of error Node gives for a failed system call:
// code, errno (negative on POSIX), syscall, and the option's name.
void ThrowSystemError(Napi::Env env, int err, const tka_where &where) {
  const SystemErrorName named = NameSystemError(err);
  std::string message = named.name + ": " + named.message + ", " + where.syscall;
  if (where.option != nullptr) message += std::string(" ") + where.option;
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  object.Set("code", named.name);
  object.Set("errno", named.code);
  object.Set("syscall", where.syscall);
  if (where.option != nullptr) object.Set("option", where.option);
  throw error;
}

// The TypeScript layer passes the right types; these guards only keep a
// misuse of the raw binding from reading memory as the wrong type, and give
// it a code like every other failure. Both ride on the conversion N-API does
// anyway, so a correct call pays nothing extra.
[[noreturn]] void ThrowArgError(const Napi::CallbackInfo &info, size_t i, const std::string &expected) {
  Napi::TypeError error =
      Napi::TypeError::New(info.Env(), "Expected " + expected + " for argument " + std::to_string(i + 1));
  error.Value().Set("code", "ERR_INVALID_ARG_TYPE");
  throw error;
}

int IntArg(const Napi::CallbackInfo &info, size_t i) {
  int32_t value = 0;
  if (napi_get_value_int32(info.Env(), info[i], &value) != napi_ok) ThrowArgError(info, i, "a number");
  return value;
}

template <typename T>
constexpr napi_typedarray_type TypedArrayKind();
template <>
constexpr napi_typedarray_type TypedArrayKind<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type TypedArrayKind<double>() { return napi_float64_array; }

// An output array of the exact element type and at least `length` long: a
// Float64Array where an Int32Array belongs would otherwise be written past
// its end.
template <typename T>
T *TypedArrayArg(const Napi::CallbackInfo &info, size_t i, size_t length) {
  napi_typedarray_type type;
  size_t count = 0;
  void *data = nullptr;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, &count, &data, nullptr, nullptr) != napi_ok ||
      type != TypedArrayKind<T>() || count < length) {
    const char *name = TypedArrayKind<T>() == napi_int32_array ? "an Int32Array" : "a Float64Array";
    ThrowArgError(info, i, std::string(name) + " of at least " + std::to_string(length) + " elements");
  }
  return static_cast<T *>(data);
}

// set(fd, enabled, idle, interval, count, userTimeout); -1 leaves a field.
Napi::Value Set(const Napi::CallbackInfo &info) {
  tka_values values = {IntArg(info, 1), IntArg(info, 2), IntArg(info, 3),
                       IntArg(info, 4), IntArg(info, 5)};
  tka_where where = {};
  int err = tka_set(IntArg(info, 0), &values, &where);
  if (err != 0) ThrowSystemError(info.Env(), err, where);
  return info.Env().Undefined();
}

// get(fd, out: Int32Array(5)): enabled, idle, interval, count, userTimeout;
// -1 where the platform has no such option.
Napi::Value Get(const Napi::CallbackInfo &info) {
  int32_t *out = TypedArrayArg<int32_t>(info, 1, 5);
  tka_values values;
  tka_where where = {};
  int err = tka_get(IntArg(info, 0), &values, &where);
  if (err != 0) ThrowSystemError(info.Env(), err, where);
  out[0] = values.enabled;
  out[1] = values.idle;
  out[2] = values.interval;
  out[3] = values.count;
  out[4] = values.user_timeout;
  return info.Env().Undefined();
}

Napi::Value Kind(const Napi::CallbackInfo &info) {
  int kind = TKA_KIND_OTHER;
  tka_where where = {};
  int err = tka_kind(IntArg(info, 0), &kind, &where);
  if (err != 0) ThrowSystemError(info.Env(), err, where);
  return Napi::Number::New(info.Env(), kind);
}

// tcpInfo(fd, out: Float64Array(TKA_INFO_FIELDS))
Napi::Value TcpInfo(const Napi::CallbackInfo &info) {
  double *out = TypedArrayArg<double>(info, 1, TKA_INFO_FIELDS);
  tka_where where = {};
  int err = tka_tcp_info(IntArg(info, 0), out, &where);
  if (err != 0) ThrowSystemError(info.Env(), err, where);
  return info.Env().Undefined();
}

// pidfdGetfd(pid, fd) -> a duplicate of another process's descriptor, which
// the caller must close().
Napi::Value PidfdGetfd(const Napi::CallbackInfo &info) {
  int fd = -1;
  tka_where where = {};
  int err = tka_pidfd_getfd(IntArg(info, 0), IntArg(info, 1), &fd, &where);
  if (err != 0) ThrowSystemError(info.Env(), err, where);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Close(const Napi::CallbackInfo &info) {
  int err = tka_close(IntArg(info, 0));
  if (err != 0) ThrowSystemError(info.Env(), err, {"close", nullptr});
  return info.Env().Undefined();
}

#ifdef __linux__
}  // namespace

#include <cstring>

#include "inspect.h"

namespace {

// `tcp-keepalive ls`: native/inspect_linux.c. Failures come back as an errno
// number rather than a throw, because the TypeScript layer turns each one
// into a row's reason or a fallback, not an exception.

// A typed array of the given kind, with its element count.
template <typename T>
T *InspectArray(const Napi::CallbackInfo &info, size_t i, napi_typedarray_type want, size_t *count) {
  napi_typedarray_type type;
  void *data = nullptr;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, count, &data, nullptr, nullptr) != napi_ok || type != want) {
    Napi::TypeError error = Napi::TypeError::New(info.Env(), "Expected a typed array for argument " + std::to_string(i + 1));
    error.Value().Set("code", "ERR_INVALID_ARG_TYPE");
    throw error;
  }
  return static_cast<T *>(data);
}

// The bytes of *buffer, after `prefix` bytes of head, in a new ArrayBuffer.
Napi::Value BufferResult(Napi::Env env, tka_buffer *buffer, const void *head = nullptr, size_t prefix = 0) {
  Napi::ArrayBuffer result = Napi::ArrayBuffer::New(env, prefix + buffer->length);
  if (prefix) memcpy(result.Data(), head, prefix);
  if (buffer->length) memcpy(static_cast<char *>(result.Data()) + prefix, buffer->data, buffer->length);
  tka_buffer_free(buffer);
  return result;
}

// tcpDump(states) -> ArrayBuffer of tka_diag_record, or an errno number.
Napi::Value TcpDump(const Napi::CallbackInfo &info) {
  tka_buffer buffer = {nullptr, 0, 0};
  const char *syscall = nullptr;
  int err = tka_tcp_dump(static_cast<uint32_t>(IntArg(info, 0)), &buffer, &syscall);
  if (err != 0) {
    tka_buffer_free(&buffer);
    return Napi::Number::New(info.Env(), err);
  }
  return BufferResult(info.Env(), &buffer);
}

// procSockets(pid) -> ArrayBuffer of uint32: links denied, then (fd, inode)
// pairs; or an errno number.
Napi::Value ProcSockets(const Napi::CallbackInfo &info) {
  tka_buffer buffer = {nullptr, 0, 0};
  uint32_t denied = 0;
  int err = tka_proc_sockets(IntArg(info, 0), &buffer, &denied);
  if (err != 0) {
    tka_buffer_free(&buffer);
    return Napi::Number::New(info.Env(), err);
  }
  return BufferResult(info.Env(), &buffer, &denied, sizeof denied);
}

// readSockets(pid, fds: Int32Array, inodes: Float64Array, out: Int32Array(6 n)) -> 0 or errno.
Napi::Value ReadSockets(const Napi::CallbackInfo &info) {
  size_t n = 0, inodes_n = 0, out_n = 0;
  int32_t *fds = InspectArray<int32_t>(info, 1, napi_int32_array, &n);
  double *inodes = InspectArray<double>(info, 2, napi_float64_array, &inodes_n);
  int32_t *out = InspectArray<int32_t>(info, 3, napi_int32_array, &out_n);
  if (inodes_n < n || out_n < 6 * n) {
    Napi::RangeError error = Napi::RangeError::New(info.Env(), "inodes and out are too short for fds");
    error.Value().Set("code", "ERR_OUT_OF_RANGE");
    throw error;
  }
  return Napi::Number::New(info.Env(), tka_read_sockets(IntArg(info, 0), fds, inodes, n, out));
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("set", Napi::Function::New(env, Set, "set"));
  exports.Set("get", Napi::Function::New(env, Get, "get"));
  exports.Set("kind", Napi::Function::New(env, Kind, "kind"));
  exports.Set("tcpInfo", Napi::Function::New(env, TcpInfo, "tcpInfo"));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd, "pidfdGetfd"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("capabilities", Napi::Number::New(env, tka_capabilities()));
  exports.Set("infoFields", Napi::Number::New(env, TKA_INFO_FIELDS));
#ifdef __linux__
  exports.Set("tcpDump", Napi::Function::New(env, TcpDump, "tcpDump"));
  exports.Set("procSockets", Napi::Function::New(env, ProcSockets, "procSockets"));
  exports.Set("readSockets", Napi::Function::New(env, ReadSockets, "readSockets"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(tcp_keepalive, Init)
