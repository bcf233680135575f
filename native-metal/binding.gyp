{
  # Built at install time by native-metal/build.mjs (node-gyp with the local Node headers).
  # Linux/Windows see only the CPU kernels; the Apple sources are compiled on macOS only.
  "targets": [
    {
      "target_name": "eai_native",
      "sources": [
        "src/addon.cc",
        "src/core.cc",
        "src/cpu.cc",
        "src/threadpool.cc"
      ],
      # Every kernels/<family>/native.cc, listed by scripts/families.mjs.
      "includes": ["families.gypi"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "src"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
      "conditions": [
        ["target_arch=='x64'", {
          # The baseline runs on any x86-64-v2 CPU; AVX2/FMA and AVX-512 kernels are
          # target-attributed functions chosen at run time.
          "cflags_cc": ["-march=x86-64-v2", "-mtune=generic"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-march=x86-64-v2"]}
        }],
        ["OS=='mac'", {
          "sources": [
            "src/apple/apple.mm",
            "src/apple/metal.mm",
            "src/apple/coreml.mm"
          ],
          "defines": ["EAI_APPLE=1"],
          "link_settings": {
            "libraries": [
              "-framework Foundation",
              "-framework Metal",
              "-framework MetalPerformanceShaders",
              "-framework CoreML"
            ]
          },
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
          }
        }]
      ]
    }
  ]
}
