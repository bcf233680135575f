/** The stylised image: drawn on the output canvas, shrunk to a gallery thumbnail, downloaded as PNG. */
import type { TransferReply } from '../protocol.js';
import type { Alerts } from './alerts.js';
import { byId, el } from './dom.js';

export class OutputView {
  readonly canvas = byId<HTMLCanvasElement>('output-canvas');
  readonly downloadButton = byId<HTMLButtonElement>('download');

  /** No result shown (a new content image). */
  clear(): void {
    this.canvas.hidden = true;
    this.downloadButton.disabled = true;
    this.downloadButton.hidden = true;
  }

  show(reply: TransferReply): void {
    this.canvas.width = reply.width;
    this.canvas.height = reply.height;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2D canvas');
    ctx.putImageData(new ImageData(reply.pixels, reply.width, reply.height), 0, 0);
    this.canvas.hidden = false;
    this.downloadButton.disabled = false;
    this.downloadButton.hidden = false;
  }

  /** A 160 px JPEG of the result, for the style card. */
  thumbnail(): string {
    const scale = 160 / Math.max(this.canvas.width, this.canvas.height);
    const thumb = el('canvas', {
      width: Math.max(1, Math.round(this.canvas.width * scale)),
      height: Math.max(1, Math.round(this.canvas.height * scale)),
    });
    thumb.getContext('2d')?.drawImage(this.canvas, 0, 0, thumb.width, thumb.height);
    return thumb.toDataURL('image/jpeg', 0.85);
  }

  download(name: string, alerts: Alerts): void {
    this.canvas.toBlob((blob) => {
      if (!blob) {
        alerts.show('error', 'Download failed', 'The browser could not encode the canvas as PNG.');
        return;
      }
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }, 'image/png');
  }
}
