// QR codes in the pages: drawn with qrcode-generator, read from the camera with jsQR in a
// worker (BarcodeDetector is missing from Chromium on Linux and from many phones).

import qrcode from "/vendor/qrcode.mjs";

// An <img> of the code for `text`, crisp at any size, with a text alternative.
export function qrImage(text, alt, { cellSize = 8, margin = 4 } = {}) {
  const code = qrcode(0, "M");
  code.addData(text, "Byte");
  code.make();
  const count = code.getModuleCount();
  const size = (count + margin * 2) * cellSize;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, size, size);
  context.fillStyle = "#000000";
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (code.isDark(row, col)) {
        context.fillRect((col + margin) * cellSize, (row + margin) * cellSize, cellSize, cellSize);
      }
    }
  }
  const image = new Image(size, size);
  image.src = canvas.toDataURL("image/png");
  image.alt = alt;
  image.className = "qr";
  image.dataset.qr = text;
  return image;
}

// Reads codes from the camera into `video` until `onCode` returns true or `stop()` is called.
export class Scanner {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.worker = null;
    this.busy = false;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment" },
      audio: false,
    });
    this.video.srcObject = this.stream;
    this.video.muted = true;
    this.video.setAttribute("playsinline", "");
    await this.video.play();
    this.worker = new Worker("/static/qr-worker.js");
    this.worker.onmessage = async (event) => {
      this.busy = false;
      if (event.data && (await this.onCode(event.data))) this.stop();
    };
    this.canvas = document.createElement("canvas");
    this.timer = setInterval(() => this.grab(), 200);
  }

  grab() {
    if (this.busy || !this.video.videoWidth) return;
    const width = Math.min(this.video.videoWidth, 640);
    const height = Math.round((this.video.videoHeight * width) / this.video.videoWidth);
    this.canvas.width = width;
    this.canvas.height = height;
    const context = this.canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(this.video, 0, 0, width, height);
    const frame = context.getImageData(0, 0, width, height);
    this.busy = true;
    this.worker.postMessage(frame, [frame.data.buffer]);
  }

  stop() {
    clearInterval(this.timer);
    if (this.worker) this.worker.terminate();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.worker = this.stream = null;
    this.video.srcObject = null;
  }
}
