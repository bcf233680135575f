// Metal compute for matmul and conv2d, plus MPSMatrixMultiplication.
// Shaders are compiled at first use from the .metal sources that ship beside the CPU
// kernels (kernels/matmul/matmul.metal, kernels/conv/conv.metal), found relative to this
// addon's own file. Arrays are copied into shared buffers: typed arrays are not page
// aligned, which newBufferWithBytesNoCopy would need.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#import <MetalPerformanceShaders/MetalPerformanceShaders.h>
#include <dlfcn.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "../eai.h"
#include "apple.h"

namespace eai {
namespace apple {

namespace {

std::mutex gpuMutex;

id<MTLDevice> device() {
  static id<MTLDevice> d = MTLCreateSystemDefaultDevice();
  return d;
}

id<MTLCommandQueue> queue() {
  static id<MTLCommandQueue> q = [device() newCommandQueue];
  return q;
}

// <package>/kernels/<family>/<file>: the addon lives in <package>/native-metal/build/Release/.
NSString* shaderPath(const char* family, const char* file) {
  Dl_info info;
  if (!dladdr(reinterpret_cast<const void*>(&shaderPath), &info) || !info.dli_fname) return nil;
  NSString* addon = [NSString stringWithUTF8String:info.dli_fname];
  NSString* package = [[[[addon stringByDeletingLastPathComponent] stringByDeletingLastPathComponent]
      stringByDeletingLastPathComponent] stringByDeletingLastPathComponent];
  return [[[package stringByAppendingPathComponent:@"kernels"] stringByAppendingPathComponent:@(family)]
      stringByAppendingPathComponent:@(file)];
}

id<MTLComputePipelineState> pipeline(const char* family, const char* file, const char* function) {
  static std::unordered_map<std::string, id<MTLComputePipelineState>> cache;
  std::string key = std::string(file) + ":" + function;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  NSString* path = shaderPath(family, file);
  NSError* error = nil;
  NSString* source = path ? [NSString stringWithContentsOfFile:path encoding:NSUTF8StringEncoding error:&error] : nil;
  if (!source) throw std::runtime_error(std::string("Metal: cannot read shader ") + (path ? path.UTF8String : file));
  id<MTLLibrary> library = [device() newLibraryWithSource:source options:nil error:&error];
  if (!library) throw std::runtime_error(std::string("Metal: ") + file + ": " + error.localizedDescription.UTF8String);
  id<MTLFunction> fn = [library newFunctionWithName:@(function)];
  if (!fn) throw std::runtime_error(std::string("Metal: no function ") + function + " in " + file);
  id<MTLComputePipelineState> state = [device() newComputePipelineStateWithFunction:fn error:&error];
  if (!state) throw std::runtime_error(std::string("Metal: ") + function + ": " + error.localizedDescription.UTF8String);
  cache[key] = state;
  return state;
}

id<MTLBuffer> input(const void* data, size_t bytes) {
  return [device() newBufferWithBytes:data length:(bytes ? bytes : 4) options:MTLResourceStorageModeShared];
}

id<MTLBuffer> output(size_t bytes) {
  return [device() newBufferWithLength:(bytes ? bytes : 4) options:MTLResourceStorageModeShared];
}

void finish(id<MTLCommandBuffer> cmd) {
  [cmd commit];
  [cmd waitUntilCompleted];
  if (cmd.status == MTLCommandBufferStatusError) {
    throw std::runtime_error(std::string("Metal: ") + cmd.error.localizedDescription.UTF8String);
  }
}

}  // namespace

bool metalAvailable() { return device() != nil; }

bool mpsAvailable() { return device() != nil && MPSSupportsMTLDevice(device()); }

std::string metalDeviceName() { return device() ? std::string(device().name.UTF8String) : std::string(); }

void metalMatmul(const float* a, const float* b, float* c, size_t m, size_t k, size_t n) {
  std::lock_guard<std::mutex> lock(gpuMutex);
  @autoreleasepool {
    id<MTLComputePipelineState> state = pipeline("matmul", "matmul.metal", "matmul_f32");
    id<MTLBuffer> A = input(a, m * k * 4), B = input(b, k * n * 4), C = output(m * n * 4);
    uint32_t dims[3] = {uint32_t(m), uint32_t(k), uint32_t(n)};
    id<MTLCommandBuffer> cmd = [queue() commandBuffer];
    id<MTLComputeCommandEncoder> enc = [cmd computeCommandEncoder];
    [enc setComputePipelineState:state];
    [enc setBuffer:A offset:0 atIndex:0];
    [enc setBuffer:B offset:0 atIndex:1];
    [enc setBuffer:C offset:0 atIndex:2];
    [enc setBytes:dims length:sizeof(dims) atIndex:3];
    // One 16x16 threadgroup per 16x16 tile of C (the kernel's TILE).
    [enc dispatchThreadgroups:MTLSizeMake((n + 15) / 16, (m + 15) / 16, 1) threadsPerThreadgroup:MTLSizeMake(16, 16, 1)];
    [enc endEncoding];
    finish(cmd);
    std::memcpy(c, C.contents, m * n * 4);
  }
}

void metalConv2d(const float* x, const float* w, const float* bias, float* y, const uint32_t g[16]) {
  std::lock_guard<std::mutex> lock(gpuMutex);
  @autoreleasepool {
    id<MTLComputePipelineState> state = pipeline("conv", "conv.metal", "conv2d_f32");
    const size_t N = g[0], C = g[1], H = g[2], W = g[3], O = g[4], kh = g[5], kw = g[6], OH = g[7], OW = g[8], groups = g[15];
    const size_t xBytes = N * C * H * W * 4, wBytes = O * (C / groups) * kh * kw * 4, yBytes = N * O * OH * OW * 4;
    const float zero = 0.0f;
    id<MTLBuffer> X = input(x, xBytes), Wt = input(w, wBytes), Y = output(yBytes);
    id<MTLBuffer> Bias = bias ? input(bias, O * 4) : input(&zero, 4);
    uint32_t params[17];
    std::memcpy(params, g, 16 * sizeof(uint32_t));
    params[16] = bias ? 1 : 0;
    id<MTLCommandBuffer> cmd = [queue() commandBuffer];
    id<MTLComputeCommandEncoder> enc = [cmd computeCommandEncoder];
    [enc setComputePipelineState:state];
    [enc setBuffer:X offset:0 atIndex:0];
    [enc setBuffer:Wt offset:0 atIndex:1];
    [enc setBuffer:Bias offset:0 atIndex:2];
    [enc setBuffer:Y offset:0 atIndex:3];
    [enc setBytes:params length:sizeof(params) atIndex:4];
    [enc dispatchThreads:MTLSizeMake(OW, OH, N * O) threadsPerThreadgroup:MTLSizeMake(8, 8, 1)];
    [enc endEncoding];
    finish(cmd);
    std::memcpy(y, Y.contents, yBytes);
  }
}

void mpsMatmul(const float* a, const float* b, float* c, size_t m, size_t k, size_t n, bool transA, bool transB) {
  std::lock_guard<std::mutex> lock(gpuMutex);
  @autoreleasepool {
    // Stored shapes: a is [m, k] (or [k, m] transposed), b is [k, n] (or [n, k]).
    const size_t aRows = transA ? k : m, aCols = transA ? m : k;
    const size_t bRows = transB ? n : k, bCols = transB ? k : n;
    id<MTLBuffer> A = input(a, m * k * 4), B = input(b, k * n * 4), C = output(m * n * 4);
    MPSMatrixDescriptor* da = [MPSMatrixDescriptor matrixDescriptorWithRows:aRows columns:aCols rowBytes:aCols * 4 dataType:MPSDataTypeFloat32];
    MPSMatrixDescriptor* db = [MPSMatrixDescriptor matrixDescriptorWithRows:bRows columns:bCols rowBytes:bCols * 4 dataType:MPSDataTypeFloat32];
    MPSMatrixDescriptor* dc = [MPSMatrixDescriptor matrixDescriptorWithRows:m columns:n rowBytes:n * 4 dataType:MPSDataTypeFloat32];
    MPSMatrix* ma = [[MPSMatrix alloc] initWithBuffer:A descriptor:da];
    MPSMatrix* mb = [[MPSMatrix alloc] initWithBuffer:B descriptor:db];
    MPSMatrix* mc = [[MPSMatrix alloc] initWithBuffer:C descriptor:dc];
    MPSMatrixMultiplication* mul = [[MPSMatrixMultiplication alloc] initWithDevice:device()
                                                                     transposeLeft:transA
                                                                    transposeRight:transB
                                                                        resultRows:m
                                                                     resultColumns:n
                                                                   interiorColumns:k
                                                                             alpha:1.0
                                                                              beta:0.0];
    id<MTLCommandBuffer> cmd = [queue() commandBuffer];
    [mul encodeToCommandBuffer:cmd leftMatrix:ma rightMatrix:mb resultMatrix:mc];
    finish(cmd);
    std::memcpy(c, C.contents, m * n * 4);
  }
}

namespace {

void requireMetal(const Napi::Env& env, const char* fn) {
  if (!metalAvailable()) Fail(env, std::string(fn) + ": this Mac has no Metal device");
}

template <class F>
void guarded(const Napi::Env& env, F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    Fail(env, e.what());
  }
}

Napi::Value MetalMatmul(const Napi::CallbackInfo& info) {
  const char* fn = "metalMatmul";
  requireMetal(info.Env(), fn);
  View<float> a = F32(info, 0, fn), b = F32(info, 1, fn), c = F32(info, 2, fn);
  size_t m = Size(info, 3, fn), k = Size(info, 4, fn), n = Size(info, 5, fn);
  Require(info.Env(), a.length == ProductOf({m, k}, fn) && b.length == ProductOf({k, n}, fn) && c.length == ProductOf({m, n}, fn),
          "metalMatmul: sizes do not match m, k, n");
  guarded(info.Env(), [&] { metalMatmul(a.data, b.data, c.data, m, k, n); });
  return info.Env().Undefined();
}

Napi::Value MetalConv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "metalConv2d";
  requireMetal(env, fn);
  View<float> x = F32(info, 0, fn), w = F32(info, 1, fn);
  View<float> bias;
  const bool hasBias = !info[2].IsNull();
  if (hasBias) bias = F32(info, 2, fn);
  View<float> y = F32(info, 3, fn);
  std::vector<size_t> g = Sizes(info, 4, fn);
  Require(env, g.size() == 16 && g[15] >= 1 && g[1] % g[15] == 0 && g[4] % g[15] == 0, "metalConv2d: bad geometry");
  uint32_t geometry[16];
  for (size_t i = 0; i < 16; i++) {
    Require(env, g[i] <= 0xffffffffu, "metalConv2d: geometry value too large");
    geometry[i] = static_cast<uint32_t>(g[i]);
  }
  Require(env, x.length == ProductOf({g[0], g[1], g[2], g[3]}, fn) && w.length == ProductOf({g[4], g[1] / g[15], g[5], g[6]}, fn) &&
                   y.length == ProductOf({g[0], g[4], g[7], g[8]}, fn) && (!hasBias || bias.length == g[4]),
          "metalConv2d: arrays do not match the geometry");
  guarded(env, [&] { metalConv2d(x.data, w.data, hasBias ? bias.data : nullptr, y.data, geometry); });
  return env.Undefined();
}

Napi::Value MpsMatmul(const Napi::CallbackInfo& info) {
  const char* fn = "mpsMatmul";
  Napi::Env env = info.Env();
  Require(env, mpsAvailable(), "mpsMatmul: Metal Performance Shaders do not support this device");
  View<float> a = F32(info, 0, fn), b = F32(info, 1, fn), c = F32(info, 2, fn);
  size_t m = Size(info, 3, fn), k = Size(info, 4, fn), n = Size(info, 5, fn);
  bool ta = Bool(info, 6, fn), tb = Bool(info, 7, fn);
  Require(env, a.length == ProductOf({m, k}, fn) && b.length == ProductOf({k, n}, fn) && c.length == ProductOf({m, n}, fn),
          "mpsMatmul: sizes do not match m, k, n");
  guarded(env, [&] { mpsMatmul(a.data, b.data, c.data, m, k, n, ta, tb); });
  return env.Undefined();
}

}  // namespace

void InitMetal(Napi::Env env, Napi::Object apple) {
  apple.Set("metalMatmul", Napi::Function::New(env, MetalMatmul, "metalMatmul"));
  apple.Set("metalConv2d", Napi::Function::New(env, MetalConv2d, "metalConv2d"));
  apple.Set("mpsMatmul", Napi::Function::New(env, MpsMatmul, "mpsMatmul"));
}

}  // namespace apple
}  // namespace eai
