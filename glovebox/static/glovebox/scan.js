/* Camera scanning of QR labels: the browser's BarcodeDetector where it exists, else jsQR
   (pinned, served from our static files: the glovebox network has no internet). A scanner
   gun needs none of this: it types the code into the field and presses Enter. */
(() => {
  "use strict";
  let jsqrLoaded = null;
  function loadJsQR() {
    jsqrLoaded = jsqrLoaded || new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = document.getElementById("scan-start").dataset.decoder;
      script.onload = () => resolve(window.jsQR);
      script.onerror = () => reject(new Error("The QR decoder could not be loaded."));
      document.head.appendChild(script);
    });
    return jsqrLoaded;
  }
  async function decodeCanvas(canvas) {
    const jsQR = await loadJsQR();
    const image = canvas.getContext("2d", { willReadFrequently: true })
      .getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(image.data, image.width, image.height);
    return found ? found.data : null;
  }
  async function makeDetector() {
    if ("BarcodeDetector" in window) {
      try {
        if ((await window.BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async (video) => ((await detector.detect(video))[0] || {}).rawValue || null;
        }
      } catch (err) { /* fall back to jsQR */ }
    }
    const canvas = document.createElement("canvas");
    return async (video) => {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      if (!canvas.width) return null;
      canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0);
      return decodeCanvas(canvas);
    };
  }

  let stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    document.getElementById("scanner").hidden = true;
    document.getElementById("scan-start").hidden = false;
  }
  async function start() {
    const status = document.getElementById("scan-status");
    const video = document.getElementById("scan-video");
    video.hidden = false;
    document.getElementById("scanner").hidden = false;
    document.getElementById("scan-start").hidden = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (err) {
      video.hidden = true;
      status.textContent = "No camera here (or no permission): type the code or use the scanner.";
      return;
    }
    video.srcObject = stream;
    await video.play();
    status.textContent = "Hold the label in front of the camera.";
    const detect = await makeDetector();
    while (stream) {
      const code = await detect(video).catch(() => null);
      if (code) {
        stop();
        const field = document.getElementById(document.getElementById("scan-start").dataset.field || "code");
        field.value = code.trim();
        field.form.submit();
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  window.benchScan = { decodeCanvas };
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("scan-start").addEventListener("click", start);
    document.getElementById("scan-stop").addEventListener("click", stop);
  });
})();
