{
  "targets": [
    {
      "target_name": "tcp_keepalive",
      "sources": ["native/binding.cc"],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "conditions": [
        ["OS=='win'", {
          "sources": ["native/keepalive_win.c"]
        }, {
          "sources": ["native/keepalive_posix.c"]
        }],
        ["OS=='linux'", {
          "sources": ["native/inspect_linux.c"]
        }]
      ]
    }
  ]
}
