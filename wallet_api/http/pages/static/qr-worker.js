// Decodes camera frames off the page's thread: a frame in, the code's text (or null) out.
importScripts("/vendor/jsQR.js");

self.onmessage = (event) => {
  const frame = event.data;
  const found = self.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
  self.postMessage(found ? found.data : null);
};
