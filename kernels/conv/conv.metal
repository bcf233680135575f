// Metal compute conv2d for the native addon's Apple path (native-metal/src/apple/metal.mm),
// NCHW with PyTorch semantics as kernels/conv/ref.ts: one thread per output element.
// Unverified on hardware: see native-metal/README.md.
#include <metal_stdlib>
using namespace metal;

// p: [N, C, H, W, O, kH, kW, OH, OW, sh, sw, pt, pl, dh, dw, groups, hasBias]
kernel void conv2d_f32(device const float* x [[buffer(0)]],
                       device const float* w [[buffer(1)]],
                       device const float* bias [[buffer(2)]],
                       device float* y [[buffer(3)]],
                       constant uint* p [[buffer(4)]],
                       uint3 gid [[thread_position_in_grid]]) {
  const uint N = p[0], C = p[1], H = p[2], W = p[3], O = p[4], KH = p[5], KW = p[6], OH = p[7], OW = p[8];
  const uint SH = p[9], SW = p[10], PT = p[11], PL = p[12], DH = p[13], DW = p[14], G = p[15];
  const uint ox = gid.x, oy = gid.y, n = gid.z / O, o = gid.z % O;
  if (ox >= OW || oy >= OH || n >= N) return;
  const uint cg = C / G, og = O / G, c0 = (o / og) * cg;
  float acc = p[16] ? bias[o] : 0.0f;
  for (uint ci = 0; ci < cg; ci++) {
    for (uint i = 0; i < KH; i++) {
      const int ih = int(oy * SH + i * DH) - int(PT);
      if (ih < 0 || ih >= int(H)) continue;
      for (uint j = 0; j < KW; j++) {
        const int iw = int(ox * SW + j * DW) - int(PL);
        if (iw < 0 || iw >= int(W)) continue;
        acc = fma(x[((n * C + c0 + ci) * H + uint(ih)) * W + uint(iw)], w[((o * cg + ci) * KH + i) * KW + j], acc);
      }
    }
  }
  y[((n * O + o) * OH + oy) * OW + ox] = acc;
}
