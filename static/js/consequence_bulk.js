// Consequence inbox: a box in the table's header ticks or clears every box on the page. Without
// script the form still offers "All on this page" as a choice, so the box stays hidden.
(function () {
  "use strict";
  var all = document.getElementById("bulk-select-page");
  if (!all) {
    return;
  }
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.bulk-select"));
  var ticked = document.getElementById("bulk-which-ticked");
  all.hidden = false;
  function sync() {
    var count = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = count === boxes.length && count > 0;
    all.indeterminate = count > 0 && count < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    if (ticked) {
      ticked.checked = true;
    }
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      sync();
      if (ticked) {
        ticked.checked = true;
      }
    });
  });
  sync();
})();
