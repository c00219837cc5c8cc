// The JavaScript glue: converts arguments and results, nothing else. Values
// arrive already validated by the TypeScript layer; a wrong type here still
// only throws, since node-addon-api checks every conversion.
#include <napi.h>
#include <uv.h>

#include <string>

#include "keepalive.h"

namespace {

// Throws the same shape of error Node gives for a failed system call:
// code, errno (libuv's negative number), syscall, and the option's name.
// libuv maps the system's number: -errno on POSIX, a WSA* code on Windows.
void ThrowSystemError(Napi::Env env, int err, const tka_where &where) {
  const int uv_err = uv_translate_sys_error(err);
  std::string message = std::string(uv_err_name(uv_err)) + ": " +
                        uv_strerror(uv_err) + ", " + where.syscall;
  if (where.option != nullptr) message += std::string(" ") + where.option;
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object object = error.Value();
  object.Set("code", uv_err_name(uv_err));
  object.Set("errno", uv_err);
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("set", Napi::Function::New(env, Set, "set"));
  exports.Set("get", Napi::Function::New(env, Get, "get"));
  exports.Set("kind", Napi::Function::New(env, Kind, "kind"));
  exports.Set("tcpInfo", Napi::Function::New(env, TcpInfo, "tcpInfo"));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd, "pidfdGetfd"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("capabilities", Napi::Number::New(env, tka_capabilities()));
  exports.Set("infoFields", Napi::Number::New(env, TKA_INFO_FIELDS));
  return exports;
}

}  // namespace

NODE_API_MODULE(tcp_keepalive, Init)
