{
  "targets": [
    {
      "target_name": "blockio",
      "sources": [
        "native/addon.cc",
        "native/buffer_pool.cc",
        "native/chunk_data.cc",
        "native/chunk_process.cc",
        "native/chunk_workers.cc",
        "native/codec.cc",
        "native/device.cc",
        "native/device_workers.cc",
        "native/device_wrap.cc",
        "native/digest_set.cc",
        "native/file_write.cc",
        "native/loop.cc",
        "native/loop_workers.cc",
        "native/sys_error.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').gyp\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-llz4", "-lxxhash"]
    }
  ]
}
