/** 8-bit RGBA pixels, row-major, top row first: the shape of the DOM's ImageData, shared by decoders, encoders and pipelines. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}
