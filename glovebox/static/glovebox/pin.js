// The PIN keypad: big buttons type into the PIN field (a file, not inline: the CSP allows no
// inline scripts).
document.querySelectorAll("[data-digit]").forEach((key) =>
  key.addEventListener("click", () => {
    const pin = document.getElementById("pin");
    pin.value = key.dataset.digit === "clear" ? "" : (pin.value + key.dataset.digit).slice(0, 8);
  }),
);
