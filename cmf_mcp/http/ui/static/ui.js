// cmf UI: progressive enhancement only. Every page works without this file.
"use strict";
document.documentElement.classList.add("has-js");

function zoomAndPan(svg) {
  const box = svg.viewBox.baseVal;
  if (!box || !box.width) return;
  const frame = svg.parentElement;
  frame.classList.add("zoomable");
  let view = { x: box.x, y: box.y, w: box.width, h: box.height };
  const apply = () => svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  // A big graph starts at its left end at full size (readable), not shrunk to fit.
  const width = frame.clientWidth, height = frame.clientHeight;
  if (width && height && (box.width > 2 * width || box.height > 2 * height)) {
    const h = Math.min(box.height, height);
    view = { x: 0, y: box.y + (box.height - h) / 2, w: width * (h / height), h };
    apply();
  }
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    const fx = (event.clientX - rect.left) / rect.width, fy = (event.clientY - rect.top) / rect.height;
    const k = event.deltaY < 0 ? 0.8 : 1.25;
    const w = view.w * k, h = view.h * k;
    view = { x: view.x + (view.w - w) * fx, y: view.y + (view.h - h) * fy, w, h };
    apply();
  }, { passive: false });
  let drag = null, moved = false;
  svg.addEventListener("pointerdown", (event) => { drag = { x: event.clientX, y: event.clientY, view }; moved = false; });
  window.addEventListener("pointerup", () => { drag = null; });
  svg.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const rect = svg.getBoundingClientRect();
    const dx = (event.clientX - drag.x) * view.w / rect.width, dy = (event.clientY - drag.y) * view.h / rect.height;
    if (Math.abs(dx) + Math.abs(dy) > 2) moved = true;
    view = { ...drag.view, x: drag.view.x - dx, y: drag.view.y - dy, w: view.w, h: view.h };
    apply();
  });
  svg.addEventListener("click", (event) => { if (moved) { event.preventDefault(); moved = false; } }, true);
}

function pickPath(svg) {
  const toggle = document.getElementById("pick-path");
  const from = document.getElementById("path-from"), to = document.getElementById("path-to");
  if (!toggle || !from || !to) return;
  svg.addEventListener("click", (event) => {
    const node = event.target.closest("a.node");
    if (!node || !toggle.checked) return;
    event.preventDefault();
    if (!from.value || to.value) { from.value = node.dataset.key; to.value = ""; }
    else { to.value = node.dataset.key; document.getElementById("graph-form").submit(); }
  });
}

function columnPicker() {
  for (const box of document.querySelectorAll("input.col")) {
    box.addEventListener("change", () => {
      const field = document.querySelector(`input[name="${box.dataset.kind}"]`);
      const chosen = [...document.querySelectorAll(`input.col[data-kind="${box.dataset.kind}"]:checked`)].map((b) => b.value);
      field.value = chosen.join(",");
      box.form.submit();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const svg = document.getElementById("lineage");
  if (svg) { zoomAndPan(svg); pickPath(svg); }
  columnPicker();
});
