{
  "targets": [
    {
      "target_name": "floor",
      "sources": ["floor.c", "../native/keepalive_posix.c"],
      "include_dirs": ["../native"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
