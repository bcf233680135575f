// The Apple path of the addon (macOS only; binding.gyp compiles these files under
// OS=="mac"): Metal compute kernels, MPS matrix multiplication and a Core ML runner.
// Unverified on hardware: see native-metal/README.md.
#pragma once

#include <napi.h>

#include <string>

namespace eai {
namespace apple {

// The default Metal device's name, or "" when there is none.
std::string metalDeviceName();
bool metalAvailable();
bool mpsAvailable();

// Each blocks until the GPU has finished; arrays are copied into shared buffers and back.
void metalMatmul(const float* a, const float* b, float* c, size_t m, size_t k, size_t n);
// geometry as the CPU conv2d: [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups]
void metalConv2d(const float* x, const float* w, const float* bias, float* y, const uint32_t geometry[16]);
void mpsMatmul(const float* a, const float* b, float* c, size_t m, size_t k, size_t n, bool transA, bool transB);

void InitMetal(Napi::Env env, Napi::Object apple);
void InitCoreML(Napi::Env env, Napi::Object apple);

}  // namespace apple
}  // namespace eai
